"""Slack: slack-bolt ``AsyncApp`` in Socket Mode (default) or HTTP Events mode, mapped to the core.

Sessions: in channels a thread is a session, its root is the parent's ``thread_ts`` (a top-level mention
starts a thread on its own ``ts``). In a DM, top-level messages form one session per DM (the channel id is
the root; ``new`` starts a fresh one) and the bot answers top-level; a thread inside a DM is its own
session. Dedupe key: the question's ``channel:ts`` (covers Slack retries, ``X-Slack-Retry-Num``, and the
``app_mention`` + ``message`` pair Slack sends for one mention in a thread). Bolt answers Slack at once
(``process_before_response=False``) so Slack never retries a slow answer.
"""

from __future__ import annotations

import html
import re
from typing import Any

import structlog
from fastapi import APIRouter, Request
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters import channels
from adapters.expiring import ExpiringCache
from adapters.formatting import slack_sections
from adapters.rendering import Draft
from adapters.slack_sink import ACTION_DOWN, ACTION_HUMAN, ACTION_UP, SlackSink, call, capabilities, ref
from bot.config import SlackSettings
from bot.errors import OporaError
from bot.escalation.messenger_targets import ACK_ACTION, RESOLVE_ACTION
from bot.escalation.offer import HumanOffer
from bot.escalation.reactions import lifecycle_step, react_on_page
from bot.language import detect_lang
from bot.services import Services
from bot.types import Incoming, Platform, SessionKey, UserRef, VoteSource

log = structlog.get_logger(__name__)
PLATFORM = Platform.SLACK.value
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def _team_of(body: dict[str, Any]) -> str | None:
    team = (
        body.get("team_id") or (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id")
    )
    return str(team) if team else None


def _channel_of(body: dict[str, Any]) -> str | None:
    event = body.get("event") or {}
    channel = (
        event.get("channel")
        or (event.get("item") or {}).get("channel")
        or (body.get("channel") or {}).get("id")
        or body.get("channel_id")
    )
    return str(channel) if channel else None


def slack_allowed(settings: SlackSettings, body: dict[str, Any]) -> bool:
    """Whether a request comes from an allowed workspace and channel (direct messages need only the team)."""
    if settings.allowed_teams and _team_of(body) not in settings.allowed_teams:
        return False
    channel = _channel_of(body)
    if settings.allowed_channels and channel and not channel.startswith("D"):
        return channel in settings.allowed_channels
    return True


def create(services: Services) -> SlackChannel | None:
    settings = services.settings.slack
    if not settings.enabled:
        return None
    return SlackChannel(services, settings)


class SlackChannel:
    name = "slack"

    def __init__(self, services: Services, settings: SlackSettings) -> None:
        if settings.mode == "http" and settings.signing_secret is None:
            raise ValueError("slack.mode=http needs slack.signing_secret")
        if settings.mode == "socket" and settings.app_token is None:
            raise ValueError("slack.mode=socket needs slack.app_token (xapp-...)")
        assert settings.bot_token is not None
        self.services = services
        self.settings = settings
        self.caps = capabilities(settings.edit_interval)
        kwargs = {"base_url": settings.api_url} if settings.api_url else {}
        self.client = AsyncWebClient(token=settings.bot_token.get_secret_value(), retry_handlers=[], **kwargs)
        secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
        self.app = AsyncApp(client=self.client, signing_secret=secret, process_before_response=False)
        self._users: ExpiringCache[str, UserRef] = ExpiringCache(settings.user_cache_ttl)
        self._email_hint_logged = False
        self._socket: AsyncSocketModeHandler | None = None
        self.router: APIRouter | None = None
        if settings.mode == "http":
            self.router = self._http_router()
        self._register()

    def _http_router(self) -> APIRouter:
        handler = AsyncSlackRequestHandler(self.app)
        router = APIRouter()

        @router.post(self.settings.events_path, include_in_schema=False)
        async def slack_events(request: Request) -> Any:
            return await handler.handle(request)

        return router

    async def start(self) -> None:
        if self.settings.mode == "socket":
            assert self.settings.app_token is not None
            self._socket = AsyncSocketModeHandler(
                self.app, self.settings.app_token.get_secret_value(), web_client=self.client
            )
            await self._socket.connect_async()
        if self.services.escalation is not None:  # "Update: I paged …", ticket links, in the asker's thread
            self.services.escalation.register_notifier(PLATFORM, self._notify)
        log.info("slack.started", mode=self.settings.mode)

    async def _notify(self, key: SessionKey, text: str) -> None:
        thread = None if key.thread == key.channel else key.thread
        await call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(channel=key.channel, thread_ts=thread, text=text),
        )

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None

    async def post_text(self, channel: str, text: str) -> str:
        """Post a plain message to ``channel`` (scheduled reports, e.g. the gaps digest); returns its ts."""
        response = await self.client.chat_postMessage(channel=channel, text=text)
        return str(response["ts"])

    # --- listeners ---
    def _register(self) -> None:
        app = self.app
        app.use(self._allowlist)
        app.event("app_mention")(self._on_mention)
        app.event("message")(self._on_message)
        app.event("reaction_added")(self._on_reaction)
        app.event("reaction_removed")(self._on_reaction)
        app.action(ACTION_UP)(self._on_button)
        app.action(ACTION_DOWN)(self._on_button)
        app.action(ACTION_HUMAN)(self._on_button)
        app.action(ACK_ACTION)(self._on_lifecycle)
        app.action(RESOLVE_ACTION)(self._on_lifecycle)
        app.command("/opora")(self._on_command)

    async def _allowlist(self, body: dict[str, Any], next: Any) -> Any:
        """Global middleware: events, buttons and commands from other workspaces or channels are dropped."""
        if slack_allowed(self.settings, body):
            return await next()
        log.info("slack.not_allowed", team=_team_of(body), channel=_channel_of(body))
        return BoltResponse(status=200, body="")  # acknowledged, so Slack does not retry, and ignored

    async def _on_mention(self, event: dict[str, Any]) -> None:
        await self._answer(event, dm=False, mentioned=True)

    async def _on_message(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        if (
            event.get("subtype")
            or event.get("bot_id")
            or event.get("user") in (None, context.get("bot_user_id"))
        ):
            return  # edits, joins, our own and other bots' messages
        if event.get("channel_type") == "im":
            await self._answer(event, dm=True)
            return
        thread_ts = event.get("thread_ts")
        if not thread_ts or thread_ts == event.get("ts"):
            return  # top-level channel chatter: only mentions (app_mention) are ours
        key = channels.session_key(PLATFORM, event["channel"], thread_ts, event["ts"])
        if await channels.answers_in(self.services.db, key):
            await self._answer(event, dm=False)

    async def _answer(self, event: dict[str, Any], *, dm: bool, mentioned: bool = False) -> None:
        if event.get("bot_id") or event.get("subtype"):
            return
        channel, ts, thread_ts = event["channel"], event["ts"], event.get("thread_ts")
        if dm and not thread_ts:
            key, reply_in = channels.chat_key(PLATFORM, channel), None
        else:
            key = channels.session_key(PLATFORM, channel, thread_ts, ts)
            reply_in = key.thread
        text = html.unescape(_MENTION.sub("", event.get("text") or "")).strip()
        incoming = Incoming(
            text=text,
            user=await self._user(event["user"]),
            session=key,
            event_id=f"{channel}:{ts}",
            mentioned=mentioned,
            # only messages known to be in a public channel; app_mention carries no channel_type
            shareable=event.get("channel_type") == "channel",
            extras={"event": event},
            # a DM with the bot (channel_type "im"): the asker's restricted Confluence pages may be used;
            # channels, private channels and group DMs ("mpim") get public pages only
            private=dm,
        )
        sink = SlackSink(self.client, channel, reply_in, ts, self.caps)
        await channels.handle_message(
            self.services, incoming, sink, per_minute=self.settings.questions_per_minute
        )

    async def _on_reaction(
        self, event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]
    ) -> None:
        """👍/👎 on an answer vote; ✅ / 👀 added on a page in the on-call channel resolve / acknowledge."""
        name = event.get("reaction", "")
        added = event["type"] == "reaction_added"
        value = channels.reaction_value(name)
        step = lifecycle_step(name) if added else None
        item = event.get("item") or {}
        if (value is None and step is None) or item.get("type") != "message" or not event.get("user"):
            return
        if event["user"] == context.get("bot_user_id"):
            return  # our own reactions
        if not await channels.claim_event(self.services.db, platform=PLATFORM, event_id=body["event_id"]):
            return
        user = await self._user(event["user"])
        item_ref = ref(item["channel"], item["ts"])
        if step is not None:
            await self._on_page_reaction(item["channel"], item["ts"], name, user)
        elif value is not None and added:
            message_id = await channels.vote_by_ref(
                self.services.db, platform=PLATFORM, platform_ref=item_ref, user=user, value=value
            )
            if message_id is not None and value == -1:
                await channels.offer_human(self.services, message_id=message_id, sink_for=self._offer_sink)
        elif value is not None:
            await channels.withdraw_by_ref(
                self.services.db, platform=PLATFORM, platform_ref=item_ref, user=user, value=value
            )

    async def _on_page_reaction(self, channel: str, ts: str, name: str, user: UserRef) -> None:
        if self.services.escalation is None:
            return
        reply = await react_on_page(
            self.services.escalation,
            platform=PLATFORM,
            platform_ref=ref(channel, ts),
            reaction=name,
            by=user.display_name or user.external_id,
            lang=self.services.settings.answer.default_lang,
        )
        if reply is not None:  # said in the page's thread, as after a button press
            await call(
                "chat.postMessage",
                lambda: self.client.chat_postMessage(channel=channel, thread_ts=ts, text=reply),
            )

    def _offer_sink(self, offer: HumanOffer) -> SlackSink:
        """The answer's thread (or the DM itself, for a DM's top-level conversation)."""
        key = offer.session
        thread = None if key.thread == key.channel else key.thread
        answer_ts = offer.answer_ref.split(":", 1)[1] if offer.answer_ref else key.thread
        return SlackSink(self.client, key.channel, thread, answer_ts, self.caps)

    async def _on_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user = await self._user(body["user"]["id"])
        message_id = int(action["value"])
        channel = body["channel"]["id"]
        message = body.get("message") or {}
        if action["action_id"] == ACTION_HUMAN:
            thread_ts = message.get("thread_ts")
            is_dm = channel.startswith("D") and not thread_ts
            key = (
                channels.chat_key(PLATFORM, channel)
                if is_dm
                else channels.session_key(PLATFORM, channel, thread_ts, message["ts"])
            )
            incoming = Incoming(text="human", user=user, session=key)
            sink = SlackSink(self.client, channel, None if is_dm else key.thread, message["ts"], self.caps)
            await channels.request_human(self.services, incoming, sink)
            return
        pressed = 1 if action["action_id"] == ACTION_UP else -1
        try:
            value = await channels.press_vote(
                self.services.db,
                message_id=message_id,
                user=user,
                pressed=pressed,
                clicked=(PLATFORM, ref(channel, str(message.get("ts", "")))),
            )
        except OporaError as exc:
            log.info("slack.vote_refused", code=exc.code)
            return
        log.info("slack.button_vote", message_id=message_id, value=value, source=str(VoteSource.BUTTON))
        if value == -1:
            await channels.offer_human(self.services, message_id=message_id, sink_for=self._offer_sink)

    async def _on_lifecycle(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Acknowledge / Resolve on a page posted in a target channel."""
        await ack()
        if self.services.escalation is None:
            return
        user = await self._user(body["user"]["id"])
        reply = await self.services.escalation.press(
            action["action_id"], int(action["value"]), by=user.display_name or user.external_id
        )
        message = body.get("message") or {}
        channel = body["channel"]["id"]
        await call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(channel=channel, thread_ts=message.get("ts"), text=reply),
        )

    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        """``/opora <text>``: a command (help, role, lang, new, human) or a question, answered privately."""
        text = (command.get("text") or "").strip() or "help"
        lang = detect_lang(text, self.services.settings.answer.default_lang)
        await ack()
        user = await self._user(command["user_id"])
        key = SessionKey(PLATFORM, command["channel_id"], f"slash:{command['user_id']}")
        incoming = Incoming(text=text, user=user, session=key)
        try:
            reply = await self.services.commands.handle(incoming)
            if reply is not None:
                draft = Draft(text=reply, lang=lang, final=True)
            else:
                answer = await self.services.engine.ask(incoming)
                draft = Draft(
                    answer.text, answer.lang, final=True, sources=answer.sources, notice=answer.notice
                )
        except OporaError as exc:
            draft = Draft(text=exc.message(lang), lang=lang, final=True)
        await respond(text="\n\n".join(slack_sections(draft))[:3000], response_type="ephemeral")

    async def _user(self, user_id: str) -> UserRef:
        """The person behind ``user_id``: name and e-mail from ``users.info``, kept ``user_cache_ttl`` s.

        The e-mail (``profile.email``, shown only with the ``users:read.email`` scope) is what maps a person
        to Confluence readers; when ``users.info`` fails nothing is cached and the person is unknown (public
        pages only) for this message.
        """
        cached = self._users.get(user_id)
        if cached is not None:
            return cached
        try:
            info = await call("users.info", lambda: self.client.users_info(user=user_id))
        except channels.PlatformError as exc:  # a name is nice to have, never worth failing an answer
            log.warning("slack.users_info_failed", status=exc.status)
            return UserRef(platform=PLATFORM, external_id=user_id)
        person = info.get("user") or {}
        profile = person.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or person.get("name")
        email = (profile.get("email") or "").strip() or None
        if email is None and not person.get("is_bot") and not self._email_hint_logged:
            self._email_hint_logged = True  # once: DMs then use public pages only
            log.warning("slack.email_not_shown", hint="add the users:read.email scope and reinstall the app")
        user = UserRef(
            platform=PLATFORM,
            external_id=user_id,
            display_name=name,
            is_bot=bool(person.get("is_bot")),
            email=None if person.get("deleted") else email,
        )
        self._users.put(user_id, user)
        return user
