"""The web chat channel: identity, limits, and questions turned into streamed answer events."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from adapters.webchat import access
from adapters.webchat.auth import Auth, WebUser
from adapters.webchat.protocol import AskIn, FeedbackIn, encode, error
from adapters.webchat.runs import Runs
from adapters.webchat.texts import both
from bot.errors import OporaError, RateLimited
from bot.feedback import record_vote
from bot.language import detect_lang
from bot.services import Services
from bot.texts import t
from bot.types import Incoming, Vote, VoteSource

log = structlog.get_logger(__name__)
Send = Callable[[dict[str, Any]], None]


class WebChat:
    """A ``Channel``: ``router`` holds the REST routes and the WebSocket; answers outlive sockets."""

    name = "webchat"

    def __init__(self, services: Services) -> None:
        from adapters.webchat.rest import build_router  # the router needs the channel

        self.services = services
        self.settings = services.settings.webchat
        self.auth = Auth(self.settings, services.db)
        self.limiter = services.limiter  # shared by every replica (a token bucket in the database)
        self.runs = Runs(services.db)
        self.router = build_router(self)

    async def start(self) -> None:
        await self.auth.serializer()  # fail at start, not on the first sign-in, if the secret is unreadable
        log.info("webchat.started", auth=self.auth.mode)

    async def stop(self) -> None:
        await self.runs.drain(grace_s=30.0)
        log.info("webchat.stopped")

    async def ask(self, user: WebUser, msg: AskIn, send: Send) -> None:
        """Check the question, then answer it in a background run that streams to ``send``."""
        engine = self.services.engine
        lang = msg.lang or detect_lang(msg.text, engine.default_lang)
        try:
            text = engine.validate(msg.text, lang)
            await self.check_limit(user)
            key = await access.session_key(self.services.history, user, msg.conversation_id, uuid.uuid4().hex)
        except OporaError as exc:
            send(_error(msg.request_id, exc, lang))
            log.info("webchat.ask_refused", user_id=user.id, code=exc.code)
            return
        incoming = Incoming(
            text=text,
            user=user.ref(),
            session=key,
            role=msg.role,
            shareable=True,  # popular only once several people asked it (bot.history)
            extras={"request_id": msg.request_id},
            private=True,  # the web chat is one person's: their restricted Confluence pages may be used
        )
        await self.runs.start(key.as_str(), self._answer(incoming, msg.request_id, lang, send))

    async def check_limit(self, user: WebUser) -> None:
        """At most ``questions_per_minute`` per user across all replicas (bursts up to that many)."""
        per_minute = self.settings.questions_per_minute
        decision = await self.limiter.hit(f"web:user:{user.id}", limit=per_minute, per_seconds=60.0)
        if not decision.allowed:
            retry = max(1, math.ceil(decision.retry_after))
            raise RateLimited(*both("rate_limited", limit=per_minute, seconds=retry), retry_after=retry)

    async def _answer(self, incoming: Incoming, request_id: str, lang: str, send: Send) -> None:
        try:
            async for event in self.services.engine.stream(incoming):
                send(encode(event, request_id))
        except OporaError as exc:
            send(_error(request_id, exc, lang))
        except Exception:
            log.exception("webchat.answer_failed", session=incoming.session.as_str())
            send(error(request_id, "internal", t("internal_error", "ru" if lang == "ru" else "en")))

    async def feedback(self, user: WebUser, msg: FeedbackIn, send: Send) -> None:
        lang = msg.lang or "en"
        try:
            await self.vote(user, msg.message_id, msg.value, msg.comment)
        except OporaError as exc:
            send(_error(msg.request_id, exc, lang))
            return
        send(
            {
                "type": "feedback.ok",
                "request_id": msg.request_id,
                "message_id": msg.message_id,
                "value": msg.value,
                "message": t("feedback_thanks", "ru" if lang == "ru" else "en"),
            }
        )

    async def vote(self, user: WebUser, message_id: int, value: int, comment: str | None) -> None:
        """Record a vote on one of the user's own answers (others' are "not found")."""
        await access.owned_answer(self.services.history, user, message_id)
        vote = Vote(message_id, user.ref(), value, VoteSource.WEB, comment or None)  # type: ignore[arg-type]
        await record_vote(self.services.db, vote)


def _error(request_id: str | None, exc: OporaError, lang: str) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        extra["retry_after"] = retry_after
    return error(request_id, exc.code, exc.message(lang), **extra)
