"""The analytics REST API (``/api/v1/analytics/...``), admins only; the numbers come from ``bot.analytics``.

Admin means: an API token with the ``admin`` scope, or an admin web chat session (``webchat.admins`` lists
the names / e-mails). Without either the answer is 401 (tokens required) ; a token without the scope or a
web user who is not an admin gets 403.
``GET /api/v1/analytics/summary?days=N`` is kept stable for checks outside the test suite.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from adapters.api import ServicesDep
from adapters.api_auth import get_caller
from adapters.webchat.auth import Auth
from bot.analytics.access import Viewer
from bot.analytics.records import Window
from bot.analytics.service import TABLES, Analytics, analytics_for
from bot.errors import Forbidden, InvalidInput
from bot.services import Services
from rag.access import AccessScope


def _web_auth(request: Request, services: Services) -> Auth:
    auth: Auth | None = getattr(request.app.state, "analytics_web_auth", None)
    if auth is None or auth.db is not services.db:
        auth = Auth(services.settings.webchat, services.db)
        request.app.state.analytics_web_auth = auth
    return auth


async def admin_viewer(request: Request, services: ServicesDep) -> Viewer:
    """The admin looking at analytics: an API token with the ``admin`` scope, or an admin web chat session.

    A bearer token decides alone (401 invalid, 403 without ``admin``). Without one, a web chat session
    decides (403 for a user who is not in ``webchat.admins``). Without either, the API's own rule for
    tokenless callers applies: 401 when tokens are required, else 403 (a tokenless caller is never admin).
    """
    if request.headers.get("authorization") is None:
        user = await _web_auth(request, services).identify(request)
        if user is not None:
            if not user.is_admin:
                raise Forbidden("Analytics is for admins only.", "Аналитика доступна только администраторам.")
            return Viewer(name=user.name, email=user.email, scope=await _scope(services, user.email))
    caller = await get_caller(request)
    if "admin" not in caller.scopes:
        raise Forbidden("Analytics needs the 'admin' scope.", "Для аналитики нужно право 'admin'.")
    name = f"token:{caller.token.name}" if caller.token is not None else f"local:{caller.peer}"
    return Viewer(name=name)


async def _scope(services: Services, email: str | None) -> AccessScope:
    """The restricted pages this admin may read (Confluence, by e-mail); public pages only without one."""
    resolver = getattr(services.engine, "access", None)
    scope_of = getattr(resolver, "scope", None)
    if scope_of is None or not email:
        return AccessScope()
    return await scope_of(email)  # type: ignore[no-any-return]


AdminViewer = Annotated[Viewer, Depends(admin_viewer)]


def get_analytics(services: ServicesDep) -> Analytics:
    return analytics_for(services)


AnalyticsDep = Annotated[Analytics, Depends(get_analytics)]


def window(
    days: Annotated[int, Query(ge=1, le=3660, description="The last N days (ignored with from/to).")] = 30,
    from_: Annotated[date | None, Query(alias="from", description="First UTC day, inclusive.")] = None,
    to: Annotated[date | None, Query(description="Last UTC day, inclusive.")] = None,
    channel: Annotated[str | None, Query(max_length=32, description="Only this platform.")] = None,
) -> Window:
    channel = channel or None
    if from_ is not None or to is not None:
        start, end = from_ or to, to or date.today()
        assert start is not None
        if end < start:
            raise InvalidInput("'from' is after 'to'.", "'from' позже, чем 'to'.")
        return Window.dates(start, end, channel=channel)
    return Window.last_days(days, channel=channel)


WindowDep = Annotated[Window, Depends(window)]


class VariantAction(BaseModel):
    status: Literal["active", "stopped", "promoted"] = Field(
        description="stopped: no new conversations; promoted: all new conversations; active: back to weights."
    )


router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


@router.get("/summary")
async def summary(viewer: AdminViewer, analytics: AnalyticsDep, win: WindowDep) -> dict[str, Any]:
    """Totals of the window: questions, outcomes, votes, satisfaction, deflection, latency, per channel."""
    return await analytics.summary(win)


@router.get("/overview")
async def overview(viewer: AdminViewer, analytics: AnalyticsDep, win: WindowDep) -> dict[str, Any]:
    """The dashboard: summary, daily series, roles, documents, 👎 comments, escalation times."""
    return await analytics.overview(win, viewer)


@router.get("/gaps")
async def gaps(viewer: AdminViewer, analytics: AnalyticsDep, win: WindowDep) -> dict[str, Any]:
    """Unanswered and low-confidence questions grouped by meaning, with the nearest pages."""
    return await analytics.gaps(win, viewer)


@router.get("/ab")
async def ab_results(viewer: AdminViewer, analytics: AnalyticsDep, win: WindowDep) -> dict[str, Any]:
    """Per prompt variant: answers, vote rate, satisfaction with 95% intervals and a verdict."""
    return await analytics.ab(win)


@router.put("/ab/{variant}")
async def set_variant(
    variant: Annotated[str, Path(min_length=1, max_length=64)],
    body: VariantAction,
    viewer: AdminViewer,
    analytics: AnalyticsDep,
) -> dict[str, Any]:
    """Stop, promote or re-activate a prompt variant (stored; the generator picks it up within seconds)."""
    return await analytics.set_variant(variant, body.status, by=viewer.name)


@router.get("/export/{table}.csv")
async def export(table: str, viewer: AdminViewer, analytics: AnalyticsDep, win: WindowDep) -> Response:
    """One table as CSV (user ids hashed)."""
    if table not in TABLES:
        raise InvalidInput(
            f"Unknown table; one of: {', '.join(TABLES)}.", f"Нет такой таблицы; есть: {', '.join(TABLES)}."
        )
    body = await analytics.csv(table, win, viewer)
    name = f"opora-{table}-{win.since.date()}-{win.until.date()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
