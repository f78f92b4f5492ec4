"""REST routes of the web chat (``/api/v1/web/...``) and its WebSocket (``/api/v1/web/ws``)."""

# No ``from __future__ import annotations``: FastAPI must see the route-local ``CurrentUser`` alias.
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, WebSocket
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from adapters.webchat import access, ws
from adapters.webchat.auth import COOKIE, COOKIE_MAX_AGE, WebUser, clean_name
from adapters.webchat.protocol import source_dicts
from adapters.webchat.texts import both, wt
from bot.errors import Forbidden, InvalidInput, OporaError
from bot.history import clean_title
from bot.types import ROLES, Incoming, Platform, SessionKey
from storage.models import Conversation

if TYPE_CHECKING:
    from adapters.webchat.chat import WebChat


def request_lang(request: Request) -> str:
    explicit = request.query_params.get("lang")
    if explicit in ("ru", "en"):
        return explicit
    return "ru" if request.headers.get("accept-language", "").lower().startswith("ru") else "en"


class Unauthorized(OporaError):
    code = "unauthorized"
    status = 401


class ErrorsAsJson(APIRoute):
    """Domain errors become ``{"code", "message"}`` in the caller's language, with their HTTP status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except OporaError as exc:
                body = {"code": exc.code, "message": exc.message(request_lang(request))}
                return JSONResponse(body, status_code=exc.status)

        return route


class SignIn(BaseModel):
    name: str = Field(max_length=200)


class Rename(BaseModel):
    title: str = Field(max_length=1000)


class FeedbackBody(BaseModel):
    message_id: int
    value: Literal[-1, 0, 1]
    comment: str | None = Field(default=None, max_length=2000)


class HumanBody(BaseModel):
    lang: Literal["ru", "en"] | None = None


def conversation_public(conv: Conversation) -> dict[str, Any]:
    return {
        "id": conv.id,
        "title": conv.title or "",
        "created_at": _iso(conv.created_at),
        "updated_at": _iso(conv.updated_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def build_router(chat: "WebChat") -> APIRouter:
    router = APIRouter(prefix="/api/v1/web", tags=["webchat"], route_class=ErrorsAsJson)
    history = chat.services.history
    settings = chat.settings

    async def current_user(request: Request) -> WebUser:
        user = await chat.auth.identify(request)
        if user is None:
            raise Unauthorized(*both("unauthorized"))
        return user

    CurrentUser = Annotated[WebUser, Depends(current_user)]
    if settings.auth == "oidc":
        from adapters.webchat.oidc import build_router as oidc_router

        router.include_router(oidc_router(chat, ErrorsAsJson))

    @router.get("/config")
    async def config() -> dict[str, Any]:
        return {
            "company_name": settings.company_name,
            "accent_color": settings.accent_color,
            "auth": settings.auth,
            "roles": [r for r in ROLES if r != "default"],
            "languages": ["ru", "en"],
        }

    @router.get("/me")
    async def me(user: CurrentUser) -> dict[str, Any]:
        return user.public()

    @router.post("/session")
    async def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
        if chat.auth.mode != "name":
            raise Forbidden(*both("sign_in_disabled"))
        name = clean_name(body.name)
        if name is None:
            raise InvalidInput(*both("bad_name"))
        response.set_cookie(
            COOKIE,
            await chat.auth.cookie_for(name),
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
        )
        user = await chat.auth.user_for(name.casefold(), name, None)
        return user.public()

    @router.delete("/session", status_code=204)
    async def sign_out(response: Response) -> None:
        response.delete_cookie(COOKIE, path="/")

    @router.get("/conversations")
    async def list_conversations(
        user: CurrentUser, search: Annotated[str | None, Query(max_length=200)] = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        rows = await history.list(user.id, Platform.WEB, search=search, limit=limit)
        return [conversation_public(c) for c in rows]

    @router.patch("/conversations/{conversation_id}")
    async def rename(conversation_id: int, body: Rename, user: CurrentUser) -> dict[str, Any]:
        title = clean_title(body.title)
        if title is None:
            raise InvalidInput(*both("bad_title"))
        conv = await access.owned_conversation(history, user, conversation_id)
        await history.rename(conv, title)
        return conversation_public(conv)

    @router.delete("/conversations/{conversation_id}", status_code=204)
    async def delete(conversation_id: int, user: CurrentUser) -> None:
        await history.delete(await access.owned_conversation(history, user, conversation_id))

    @router.get("/conversations/{conversation_id}/messages")
    async def conversation_messages(conversation_id: int, user: CurrentUser) -> dict[str, Any]:
        conv = await access.owned_conversation(history, user, conversation_id)
        out = []
        for m, vote in ((e.message, e.vote) for e in await history.transcript(conv, user.id)):
            out.append(
                {
                    "id": m.id,
                    "kind": m.kind,
                    "text": m.text,
                    "lang": m.lang,
                    "reply_to": m.reply_to,
                    "created_at": _iso(m.created_at),
                    "sources": source_dicts(m.sources or []),
                    "latency_ms": m.latency_ms,
                    "abstained": m.abstained,
                    "escalated": m.escalated,
                    "vote": {"value": vote.value, "comment": vote.comment} if vote else None,
                }
            )
        return {
            "conversation": conversation_public(conv),
            "messages": out,
            "in_progress": await chat.runs.in_progress(access.key_str(conv)),
        }

    @router.post("/conversations/{conversation_id}/human")
    async def call_human(conversation_id: int, body: HumanBody, user: CurrentUser) -> dict[str, Any]:
        conv = await access.owned_conversation(history, user, conversation_id)
        incoming = Incoming(
            text="human",
            user=user.ref(),
            session=SessionKey(conv.platform, conv.channel, conv.thread),
            lang=body.lang,
        )
        return {"text": await chat.services.engine.request_human(incoming)}

    @router.post("/feedback")
    async def vote(body: FeedbackBody, user: CurrentUser) -> dict[str, Any]:
        await chat.vote(user, body.message_id, body.value, body.comment)
        return {"message_id": body.message_id, "value": body.value}

    @router.get("/popular")
    async def popular(request: Request, user: CurrentUser, limit: int = 6) -> dict[str, Any]:
        limit = max(1, min(limit, 20))
        asked = await history.popular(
            days=settings.popular_days, min_people=settings.popular_min_people, limit=limit
        )
        lang = request_lang(request)
        seeds = [q for q in settings.seed_questions if q not in asked] or list(_default_seeds(lang))
        return {"questions": (asked + seeds)[:limit], "from_history": len(asked)}

    @router.websocket("/ws")
    async def socket(websocket: WebSocket) -> None:
        await ws.serve(websocket, chat)

    return router


def _default_seeds(lang: str) -> tuple[str, ...]:
    return (wt("seed_1", lang), wt("seed_2", lang), wt("seed_3", lang), wt("seed_4", lang))
