"""Who calls the REST API: bearer tokens, scopes and per-token rate limits, as FastAPI dependencies.

Protect a route with a scope by annotating one parameter (the check runs before the route)::

    from adapters.api_auth import AdminCaller, require_scope

    @router.get("/api/v1/analytics/summary")
    async def summary(caller: AdminCaller) -> ...:  # 401 without a valid token, 403 without "admin"
        ...

    AskCaller = require_scope("ask")  # any scope: an ``Annotated[ApiCaller, Depends(...)]`` alias

or a whole router: ``APIRouter(dependencies=[Depends(scope_checker("admin"))])``. Every call that passes
counts against the caller's rate limit (``api.rate_limit_per_minute``, or the token's own) in the shared
database limiter, so the limit holds across replicas; over it the answer is 429 with ``Retry-After``.

Without ``Authorization: Bearer <token>`` a call is refused with 401, unless ``api.require_token`` is false
(local mode's default): then it is a tokenless caller with ``ask`` and ``feedback``, so the two-command
start needs no token to ask. Operator routes (``admin``) always need an admin token or an admin web chat
session, also from one's own machine: ``opora tokens create ops --scopes admin``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from bot.errors import Forbidden, NotReady, RateLimited, Unauthorized
from bot.services import Services
from bot.tokens import SCOPES, TokenInfo

TOKENLESS_SCOPES = frozenset({"ask", "feedback"})
# declares the bearer scheme in the OpenAPI spec; the header itself is parsed below (a wrong scheme is a 401)
_bearer = HTTPBearer(auto_error=False, description="An API token from 'opora tokens create NAME'.")


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """An authenticated REST caller. ``token`` is ``None`` for a tokenless (local mode) caller."""

    token: TokenInfo | None
    scopes: frozenset[str]
    peer: str | None

    def user_id(self, given: str) -> str:
        """The caller's ``user_id`` as stored: namespaced by the token, so two tokens never share users."""
        return f"t{self.token.id}:{given}" if self.token is not None else given

    @property
    def rate_key(self) -> str:
        return f"api:token:{self.token.id}" if self.token is not None else f"api:peer:{self.peer}"


def _services(request: Request) -> Services:
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        raise NotReady("Opora is starting.", "Opora запускается.")
    return services


def _unauthorized(reason: str) -> Unauthorized:
    if reason == "missing":
        return Unauthorized(
            "An API token is required: send 'Authorization: Bearer <token>' (create one with "
            "'opora tokens create NAME').",
            "Нужен API-токен: передайте 'Authorization: Bearer <токен>' "
            "(создать: 'opora tokens create ИМЯ').",
        )
    return Unauthorized(
        "The API token is not valid (unknown, revoked or malformed).",
        "API-токен недействителен (неизвестен, отозван или искажён).",
    )


async def get_caller(request: Request, _doc: Any = Depends(_bearer)) -> ApiCaller:
    """The caller of this request, authenticated and counted against its rate limit."""
    services = _services(request)
    settings = services.settings.api
    peer = request.client.host if request.client else None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        info = await services.tokens.verify(value.strip()) if scheme.lower() == "bearer" else None
        if info is None:
            raise _unauthorized("invalid")
        caller = ApiCaller(info, frozenset(info.scopes), peer)
        limit = info.rate_per_minute if info.rate_per_minute is not None else settings.rate_limit_per_minute
    elif settings.require_token:
        raise _unauthorized("missing")
    else:
        caller = ApiCaller(None, frozenset(TOKENLESS_SCOPES), peer)
        limit = settings.rate_limit_per_minute
    decision = await services.limiter.hit(caller.rate_key, limit=limit, per_seconds=60)
    if not decision.allowed:
        seconds = max(1, int(decision.retry_after + 0.999))
        raise RateLimited(
            f"Too many requests: at most {limit} a minute. Try again in {seconds} s.",
            f"Слишком много запросов: не больше {limit} в минуту. Повторите через {seconds} с.",
            retry_after=decision.retry_after,
        )
    return caller


CallerDep = Annotated[ApiCaller, Depends(get_caller)]
_checkers: dict[str, Callable[..., Any]] = {}


def scope_checker(scope: str) -> Callable[..., Any]:
    """The dependency function that admits callers holding ``scope`` (one per scope, so FastAPI caches it)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if scope not in _checkers:

        async def check(caller: CallerDep) -> ApiCaller:
            if scope not in caller.scopes:
                raise Forbidden(
                    f"This API token lacks the '{scope}' scope.", f"У этого API-токена нет права '{scope}'."
                )
            return caller

        _checkers[scope] = check
    return _checkers[scope]


def require_scope(scope: str) -> Any:
    """``Annotated[ApiCaller, Depends(...)]`` admitting callers with ``scope``: 401 without a valid token
    (when tokens are required), 403 without the scope, 429 over the caller's rate limit."""
    return Annotated[ApiCaller, Depends(scope_checker(scope))]


AskCaller = require_scope("ask")
FeedbackCaller = require_scope("feedback")
AdminCaller = require_scope("admin")
