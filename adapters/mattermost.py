"""Mattermost channel: websocket events in, REST posts out, button presses on our action URL.

The bot answers when mentioned, in direct messages, and to follow-ups in threads it already answers in;
it ignores its own posts and other bots'. Session = the thread root (``root_id``, or the post's own id for
a root post). A post id is claimed in the database before answering, so a websocket replay after a
reconnect never produces a second answer.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
from typing import Any

import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from adapters.channels import (
    PlatformError,
    answers_in,
    handle_message,
    offer_human,
    press_vote,
    reaction_value,
    request_human,
    session_key,
    session_of_answer,
    vote_by_ref,
    withdraw_by_ref,
)
from adapters.expiring import ExpiringCache
from adapters.mattermost_client import MattermostClient
from adapters.mattermost_sink import Actions, MattermostSink
from bot.config import MattermostSettings
from bot.errors import NotFound
from bot.escalation.offer import HumanOffer
from bot.escalation.reactions import lifecycle_step, react_on_page
from bot.services import Services
from bot.texts import t
from bot.types import Incoming, Platform, SessionKey, UserRef

log = structlog.get_logger(__name__)
PLATFORM = str(Platform.MATTERMOST)
CHANNEL_TYPE_TTL = 3600.0  # seconds; a direct or group channel never changes type, O ↔ P rarely does


class ActionRequest(BaseModel):
    """What Mattermost POSTs when an interactive button is pressed."""

    user_id: str
    user_name: str = ""
    channel_id: str = ""
    post_id: str = ""
    context: dict[str, Any] = Field(default_factory=dict)


class MattermostChannel:
    name = "mattermost"

    def __init__(self, services: Services, settings: MattermostSettings) -> None:
        assert settings.url is not None and settings.token is not None
        self.services = services
        self.settings = settings
        self.client = MattermostClient(
            settings.url, settings.token.get_secret_value(), reconnect_max=settings.reconnect_max
        )
        token = settings.action_token.get_secret_value() if settings.action_token else None
        self.actions = Actions(settings.action_url, token) if settings.action_url and token else None
        self.router: APIRouter | None = self._action_router() if token else None
        self.bot_user_id = ""
        self.username = ""
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._people: ExpiringCache[str, UserRef] = ExpiringCache(settings.user_cache_ttl)
        self._channel_types: ExpiringCache[str, str] = ExpiringCache(CHANNEL_TYPE_TTL)
        self._email_hint_logged = False

    async def _notify(self, key: SessionKey, text: str) -> None:
        root = "" if key.thread == key.channel else key.thread
        await self.client.create_post(channel_id=key.channel, message=text, root_id=root)

    async def start(self) -> None:
        me = await self.client.me()
        self.bot_user_id, self.username = me["id"], me.get("username", "")
        # one websocket consumer (the leader replica): every consumer would see, and answer, every post;
        # the others serve the action URL over HTTP
        self.services.leader.lead("mattermost-ws", self._listen)
        if self.services.leader.is_leader:
            async with asyncio.timeout(30):
                await self.client.connected.wait()
        if self.services.escalation is not None:  # "Update: I paged …", ticket links, in the asker's thread
            self.services.escalation.register_notifier(PLATFORM, self._notify)
        if self.actions is None:
            log.warning("mattermost.buttons_disabled", reason="action_url or action_token not set")
        log.info("mattermost.started", bot=self.username)

    async def _listen(self) -> None:
        self._listener = asyncio.current_task()
        try:
            await self.client.listen(self._on_event)
        finally:  # cancelled when this replica stops leading: the next leader connects afresh
            self.client.connected.clear()

    async def post_text(self, channel: str, text: str) -> str:
        """Post a plain message to ``channel`` (a channel id); returns the post id."""
        post = await self.client.create_post(channel_id=channel, message=text)
        return str(post["id"])

    async def stop(self) -> None:
        await self.client.close()
        if self._listener is not None and self._listener is not asyncio.current_task():
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def idle(self) -> None:
        """Wait until every event taken so far has been handled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def allowed(self, msg: dict[str, Any]) -> bool:
        """Whether an event comes from an allowed team and channel (direct messages need only the team)."""
        data, broadcast = msg.get("data") or {}, msg.get("broadcast") or {}
        team = data.get("team_id") or broadcast.get("team_id") or ""
        channel = broadcast.get("channel_id") or ""
        if not channel and data.get("post"):
            channel = (json.loads(data["post"]) or {}).get("channel_id", "")
        direct = data.get("channel_type") in ("D", "G")
        if (
            self.settings.allowed_teams
            and team not in self.settings.allowed_teams
            and not (direct and not team)
        ):
            return False
        return direct or not self.settings.allowed_channels or channel in self.settings.allowed_channels

    async def _on_event(self, msg: dict[str, Any]) -> None:
        kind, data = msg.get("event"), msg.get("data") or {}
        if kind in ("posted", "reaction_added", "reaction_removed") and not self.allowed(msg):
            log.info("mattermost.not_allowed", event=kind)
            return
        if kind == "posted":
            work = self._on_posted(data)
        elif kind in ("reaction_added", "reaction_removed"):
            channel_id = (msg.get("broadcast") or {}).get("channel_id", "")
            work = self._on_reaction(data, removed=kind == "reaction_removed", channel_id=channel_id)
        else:
            return
        while len(self._tasks) >= self.services.admission.capacity + 32:  # bounded: the socket waits
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(self._guard(work, kind))  # a slow answer never blocks the socket
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, work: Any, kind: str | None) -> None:
        try:
            await work
        except Exception:
            log.exception("mattermost.event_failed", event=kind)

    async def _on_posted(self, data: dict[str, Any]) -> None:
        post = json.loads(data.get("post") or "{}")
        props = post.get("props") or {}
        if post.get("user_id") == self.bot_user_id or props.get("from_bot") == "true" or post.get("type"):
            return  # ourselves, other bots, system messages
        if props.get("from_webhook") == "true":
            return
        root = post.get("root_id") or ""
        key = session_key(PLATFORM, post["channel_id"], root or None, post["id"])
        text = post.get("message") or ""
        mentions = json.loads(data.get("mentions") or "[]")
        mention = re.compile(rf"(?<![\w@])@{re.escape(self.username)}\b", re.IGNORECASE)
        mentioned = self.bot_user_id in mentions or bool(mention.search(text))
        channel_type = data.get("channel_type") or await self._channel_type(post["channel_id"])
        direct = channel_type == "D"
        if not (direct or mentioned or (root and await answers_in(self.services.db, key))):
            return
        name = (data.get("sender_name") or "").lstrip("@")
        # the e-mail matters only in a direct message: the one place restricted pages may be used
        user = (
            await self._person(post["user_id"], name) if direct else UserRef(PLATFORM, post["user_id"], name)
        )
        incoming = Incoming(
            text=mention.sub(" ", text).strip(),
            user=user,
            session=key,
            event_id=post["id"],
            mentioned=mentioned,
            shareable=channel_type == "O",  # open channels only
            private=direct,  # group messages ("G") and channels get public pages only
        )
        sink = self._sink(post["channel_id"], key.thread, post["id"])
        await handle_message(self.services, incoming, sink, per_minute=self.settings.questions_per_minute)

    async def _channel_type(self, channel_id: str) -> str:
        """``O``/``P``/``D``/``G`` from ``GET /channels/{id}``, for an event without ``channel_type``;
        ``""`` (not direct, not open) when the lookup fails."""
        known = self._channel_types.get(channel_id)
        if known is not None:
            return known
        try:
            kind = str((await self.client.channel(channel_id)).get("type") or "")
        except PlatformError as exc:
            log.warning("mattermost.channel_lookup_failed", status=exc.status)
            return ""
        self._channel_types.put(channel_id, kind)
        return kind

    async def _person(self, user_id: str, name: str) -> UserRef:
        """The asker with the e-mail Mattermost vouches for (``GET /users/{id}``, kept ``user_cache_ttl`` s).

        Only a verified e-mail of an active, human account counts; without one (or when the lookup fails,
        which is not cached) the person is unknown: public pages only.
        """
        cached = self._people.get(user_id)
        if cached is not None:
            return cached
        try:
            profile = await self.client.user(user_id)
        except PlatformError as exc:
            log.warning("mattermost.user_lookup_failed", status=exc.status)
            return UserRef(PLATFORM, user_id, display_name=name or None)
        email = str(profile.get("email") or "").strip() or None
        if email is None and not self._email_hint_logged:
            self._email_hint_logged = True
            log.warning(
                "mattermost.email_not_shown", hint="System Console → Users and Teams → Show Email Address"
            )
        trusted = (
            bool(profile.get("email_verified")) and not profile.get("delete_at") and not profile.get("is_bot")
        )
        user = UserRef(
            PLATFORM,
            user_id,
            display_name=name or profile.get("username") or None,
            is_bot=bool(profile.get("is_bot")),
            email=email if trusted else None,
        )
        self._people.put(user_id, user)
        return user

    async def _on_reaction(self, data: dict[str, Any], *, removed: bool, channel_id: str = "") -> None:
        """👍/👎 on an answer vote; ✅ / 👀 added on a page in the on-call channel resolve / acknowledge."""
        reaction = json.loads(data.get("reaction") or "{}")
        name = reaction.get("emoji_name", "")
        if reaction.get("user_id") == self.bot_user_id:
            return
        if not removed and lifecycle_step(name) is not None:
            await self._on_page_reaction(reaction, channel_id or reaction.get("channel_id", ""))
            return
        value = reaction_value(name)
        if value is None:
            return
        db, ref, user = self.services.db, reaction["post_id"], UserRef(PLATFORM, reaction["user_id"])
        if removed:  # removing 👍 withdraws only a 👍 (a later 👎 stays)
            await withdraw_by_ref(db, platform=PLATFORM, platform_ref=ref, user=user, value=value)
            return
        message_id = await vote_by_ref(db, platform=PLATFORM, platform_ref=ref, user=user, value=value)
        log.info("mattermost.reaction", message_id=message_id, value=value)
        if message_id is not None and value == -1:
            await offer_human(self.services, message_id=message_id, sink_for=self._offer_sink)

    async def _on_page_reaction(self, reaction: dict[str, Any], channel_id: str) -> None:
        if self.services.escalation is None:
            return
        reply = await react_on_page(
            self.services.escalation,
            platform=PLATFORM,
            platform_ref=reaction["post_id"],
            reaction=reaction.get("emoji_name", ""),
            by=lambda: self._username(reaction["user_id"]),
            lang=self.services.settings.answer.default_lang,
        )
        if reply is not None and channel_id:  # said in the page's thread, as after a button press
            await self.client.create_post(channel_id=channel_id, message=reply, root_id=reaction["post_id"])

    async def _username(self, user_id: str) -> str:
        """The reactor's username for "Resolved by …" (their id when the lookup fails)."""
        try:
            return str((await self.client.user(user_id)).get("username") or user_id)
        except PlatformError as exc:
            log.warning("mattermost.user_lookup_failed", status=exc.status)
            return user_id

    def _offer_sink(self, offer: HumanOffer) -> MattermostSink:
        return self._sink(offer.session.channel, offer.session.thread, None)

    def _sink(self, channel_id: str, root_id: str, question_id: str | None) -> MattermostSink:
        return MattermostSink(
            self.client,
            bot_user_id=self.bot_user_id,
            channel_id=channel_id,
            root_id=root_id,
            question_id=question_id,
            actions=self.actions,
            edit_interval=self.settings.edit_interval,
        )

    def _token_ok(self, token: Any) -> bool:
        expected = self.settings.action_token
        if expected is None or not isinstance(token, str):
            return False
        return hmac.compare_digest(token.encode(), expected.get_secret_value().encode())

    def _action_router(self) -> APIRouter:
        router = APIRouter(tags=["mattermost"])

        @router.post(self.settings.action_path, include_in_schema=False, response_model=None)
        async def mattermost_action(body: ActionRequest) -> JSONResponse | dict[str, Any]:
            if not self._token_ok(body.context.get("token")):
                log.warning("mattermost.action_rejected", reason="bad token")
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            return await self._on_action(body)

        return router

    async def _on_action(self, body: ActionRequest) -> dict[str, Any]:
        db, lang = self.services.db, self.services.settings.answer.default_lang
        user = UserRef(PLATFORM, body.user_id, display_name=body.user_name or None)
        if str(body.context.get("action", "")).startswith("opora_esc_") and self.services.escalation:
            reply = await self.services.escalation.press(
                str(body.context["action"]),
                int(body.context.get("escalation_id", 0)),
                by=body.user_name or body.user_id,
            )
            return {"ephemeral_text": reply}
        message_id = int(body.context.get("message_id", 0))
        if body.context.get("action") == "human":
            key = await session_of_answer(db, message_id=message_id)
            if key is None:
                return {"ephemeral_text": t("unknown_message", lang, message_id=message_id)}
            incoming = Incoming(text="human", user=user, session=key)
            await request_human(self.services, incoming, self._sink(key.channel, key.thread, None))
            return {}
        pressed = 1 if int(body.context.get("value", 1)) > 0 else -1
        try:
            clicked = (PLATFORM, body.post_id) if body.post_id else None
            value = await press_vote(db, message_id=message_id, user=user, pressed=pressed, clicked=clicked)
        except NotFound as exc:
            return {"ephemeral_text": exc.message(lang)}
        if value == -1:
            await offer_human(self.services, message_id=message_id, sink_for=self._offer_sink)
        return {"ephemeral_text": t("vote_recorded" if value else "vote_withdrawn", lang)}


def create(services: Services) -> MattermostChannel | None:
    """The Mattermost channel, or ``None`` when its URL and token are not configured."""
    settings = services.settings.mattermost
    return MattermostChannel(services, settings) if settings.enabled else None
