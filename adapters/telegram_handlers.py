"""aiogram handlers: who is spoken to, which session a message belongs to, votes and buttons, and ✅ (👌) /
👀 reactions on on-call pages.

Sessions: a private chat is one session (``new`` starts a fresh one); in a forum, a topic
(``message_thread_id``); in other groups, the reply chain's root: the question that first mentioned the
bot, found again from the bot's answer when someone replies to it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import structlog
from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, Message, MessageReactionUpdated, ReactionTypeEmoji, TelegramObject
from aiogram.types import User as TgUser

from adapters.channels import (
    answer_for_ref,
    answers_in,
    chat_key,
    claim_event,
    handle_message,
    offer_human,
    press_vote,
    reaction_value,
    request_human,
    session_of_answer,
    thread_of_ref,
    vote_by_ref,
)
from adapters.formatting import TELEGRAM_LIMIT
from adapters.rendering import StreamRenderer
from adapters.telegram_sink import TelegramSink, ref_of
from bot.commands import COMMANDS
from bot.errors import NotFound
from bot.escalation.offer import HumanOffer
from bot.escalation.reactions import lifecycle_step, react_on_page
from bot.services import Services
from bot.texts import t
from bot.types import Incoming, Lang, Platform, SessionKey, UserRef

log = structlog.get_logger(__name__)
PLATFORM = str(Platform.TELEGRAM)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass(slots=True)
class TelegramContext:
    services: Services
    bot_id: int
    username: str
    edit_interval: float = 1.0
    max_len: int = TELEGRAM_LIMIT
    per_minute: int = 0  # questions per user a minute (0: no limit)
    allowed_users: tuple[int, ...] = ()
    allowed_chats: tuple[int, ...] = ()
    user_emails: Mapping[int, str] = field(default_factory=dict)  # telegram.user_emails


def user_ref(user: TgUser, email: str | None = None) -> UserRef:
    return UserRef(PLATFORM, str(user.id), display_name=user.full_name, is_bot=user.is_bot, email=email)


def user_lang(user: TgUser | None) -> Lang:
    return "ru" if user and (user.language_code or "").startswith("ru") else "en"


def update_event_id(ctx: TelegramContext, data: dict[str, Any]) -> str:
    """update_id is unique per bot: the dedupe key across webhook retries and replicas."""
    return f"{ctx.bot_id}:{data['event_update'].update_id}"


class IgnoreBots:
    """Outer middleware: messages and reactions from bots (ourselves included) never reach a handler."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = getattr(event, "from_user", None) or getattr(event, "user", None)
        if sender is None or sender.is_bot:
            return None
        return await handler(event, data)


class Allowlist:
    """Outer middleware: updates from users or group chats outside ``allowed_users`` / ``allowed_chats``
    are dropped (private chats need only an allowed user)."""

    def __init__(self, users: list[int], chats: list[int]) -> None:
        self.users, self.chats = set(users), set(chats)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = getattr(event, "from_user", None) or getattr(event, "user", None)
        chat = getattr(event, "chat", None)
        if chat is None and isinstance(getattr(event, "message", None), Message):
            chat = event.message.chat  # type: ignore[attr-defined]
        if self.users and (sender is None or sender.id not in self.users):
            log.info("telegram.not_allowed", user=getattr(sender, "id", None))
            return None
        if self.chats and chat is not None and chat.type != "private" and chat.id not in self.chats:
            log.info("telegram.not_allowed", chat=chat.id)
            return None
        return await handler(event, data)


class ClaimUpdate:
    """Outer middleware for votes and buttons: a redelivered update (same update_id) is dropped."""

    def __init__(self, ctx: TelegramContext) -> None:
        self.ctx = ctx

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        db = self.ctx.services.db
        if not await claim_event(db, platform=PLATFORM, event_id=update_event_id(self.ctx, data)):
            return None
        return await handler(event, data)


def strip_mention(message: Message, username: str, bot_id: int) -> tuple[bool, str]:
    """(whether the bot is mentioned, the text without the mention)."""
    text = message.text or ""
    mentioned = False
    for entity in message.entities or []:
        part = entity.extract_from(text)
        if (entity.type == "mention" and part.lower() == f"@{username.lower()}") or (
            entity.type == "text_mention" and entity.user is not None and entity.user.id == bot_id
        ):
            mentioned = True
            text = text.replace(part, " ", 1)
    return mentioned, re.sub(r"\s+", " ", text).strip()


def _replies_to_bot(ctx: TelegramContext, message: Message) -> bool:
    reply = message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == ctx.bot_id)


async def group_session(ctx: TelegramContext, message: Message) -> SessionKey:
    chat = str(message.chat.id)
    if message.is_topic_message and message.message_thread_id:
        return SessionKey(PLATFORM, chat, f"topic:{message.message_thread_id}")
    reply = message.reply_to_message
    if reply is None or reply.forum_topic_created is not None:
        return SessionKey(PLATFORM, chat, str(message.message_id))
    if _replies_to_bot(ctx, message):
        ref = ref_of(message.chat.id, reply.message_id)
        thread = await thread_of_ref(ctx.services.db, platform=PLATFORM, platform_ref=ref)
        if thread is not None:
            return SessionKey(PLATFORM, chat, thread)
    return SessionKey(PLATFORM, chat, str(reply.message_id))


class Addressed(Filter):
    """A group message meant for the bot: a mention, a reply to it, or a follow-up in its thread/topic.

    Passes ``key`` (the session) and ``question`` (the text without the mention) to the handler.
    """

    def __init__(self, ctx: TelegramContext) -> None:
        self.ctx = ctx

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        if message.chat.type == "private" or not message.text:
            return False
        mentioned, question = strip_mention(message, self.ctx.username, self.ctx.bot_id)
        key = await group_session(self.ctx, message)
        in_thread = message.reply_to_message is not None or bool(message.is_topic_message)
        if not (mentioned or _replies_to_bot(self.ctx, message)) and not (
            in_thread and await answers_in(self.ctx.services.db, key)
        ):
            return False
        return {"key": key, "question": question, "mentioned": mentioned}


async def _answer(
    ctx: TelegramContext,
    bot: Bot,
    message: Message,
    key: SessionKey,
    text: str,
    event_id: str,
    mentioned: bool = False,
):
    assert message.from_user is not None
    public = message.chat.type in ("group", "supergroup") and bool(message.chat.username)
    # Telegram knows no e-mail: the operator's telegram.user_emails map is the only source; an unmapped
    # person is unknown. Restricted pages only in a private chat with the bot, never in a group.
    sender = message.from_user
    incoming = Incoming(
        text=text,
        user=user_ref(sender, ctx.user_emails.get(sender.id)),
        session=key,
        event_id=event_id,
        shareable=public,
        mentioned=mentioned,
        private=message.chat.type == "private",
    )
    topic = message.message_thread_id if message.is_topic_message else None
    sink = TelegramSink(
        bot,
        chat_id=message.chat.id,
        reply_to=message.message_id,
        thread_id=topic,
        edit_interval=ctx.edit_interval,
        max_len=ctx.max_len,
    )
    await handle_message(ctx.services, incoming, sink, per_minute=ctx.per_minute)


def build_router(ctx: TelegramContext) -> Router:
    """The handlers of one bot."""
    router = Router(name="opora-telegram")
    allowlist = Allowlist(list(ctx.allowed_users), list(ctx.allowed_chats))
    for observer in (router.message, router.message_reaction, router.callback_query):
        observer.outer_middleware(allowlist)
    router.message.outer_middleware(IgnoreBots())
    router.message_reaction.outer_middleware(IgnoreBots())
    router.message_reaction.outer_middleware(ClaimUpdate(ctx))
    router.callback_query.outer_middleware(ClaimUpdate(ctx))
    db = ctx.services.db

    @router.message(F.chat.type == "private", F.text)
    async def private(message: Message, bot: Bot, **data: Any) -> None:
        key = chat_key(PLATFORM, str(message.chat.id))
        await _answer(ctx, bot, message, key, message.text or "", update_event_id(ctx, data))

    @router.message(F.text, Command(*sorted(COMMANDS)))
    async def group_command(message: Message, bot: Bot, **data: Any) -> None:
        key = await group_session(ctx, message)
        await _answer(ctx, bot, message, key, message.text or "", update_event_id(ctx, data))

    @router.message(F.text, Addressed(ctx))
    async def group_question(
        message: Message, bot: Bot, key: SessionKey, question: str, mentioned: bool, **data: Any
    ) -> None:
        await _answer(ctx, bot, message, key, question, update_event_id(ctx, data), mentioned)

    @router.message_reaction()
    async def reaction(event: MessageReactionUpdated, bot: Bot) -> None:
        if event.user is None:
            return
        ref = ref_of(event.chat.id, event.message_id)
        steps = _lifecycle_reactions(event)
        if steps:  # ✅ (👌) / 👀 on a page in the on-call chat (several reactions may come in one update)
            await _page_reaction(ctx, bot, event, steps)
        value = _reaction_vote(event)
        if value is None:
            return
        found = await vote_by_ref(
            db, platform=PLATFORM, platform_ref=ref, user=user_ref(event.user), value=value
        )
        log.info("telegram.reaction", answer=found, value=value)
        if found is not None and value == -1:
            await offer_human(ctx.services, message_id=found, sink_for=_offer_sink(bot))

    @router.callback_query(F.data.startswith("v:"))
    async def vote_button(query: CallbackQuery, bot: Bot) -> None:
        _, message_id, pressed = (query.data or "").split(":")
        user, lang = user_ref(query.from_user), user_lang(query.from_user)
        clicked = query.message
        try:
            if clicked is None or not message_id.isdigit():
                raise NotFound("This answer is no longer available.", "Этот ответ больше недоступен.")
            value = await press_vote(
                db,
                message_id=int(message_id),
                user=user,
                pressed=1 if pressed == "1" else -1,
                clicked=(PLATFORM, ref_of(clicked.chat.id, clicked.message_id)),
            )
        except NotFound as exc:
            await query.answer(text=exc.message(lang))
            return
        await query.answer(text=t("vote_recorded" if value else "vote_withdrawn", lang))
        if value == -1:
            await offer_human(ctx.services, message_id=int(message_id), sink_for=_offer_sink(bot))

    @router.callback_query(F.data.startswith("opora_esc_"))
    async def lifecycle_button(query: CallbackQuery) -> None:
        """Acknowledge / Resolve on a page posted in a target chat."""
        action_id, _, escalation_id = (query.data or "").rpartition(":")
        service = ctx.services.escalation
        if service is None or not escalation_id.isdigit():
            await query.answer()
            return
        who = query.from_user.full_name or str(query.from_user.id)
        reply = await service.press(action_id, int(escalation_id), by=who, lang=user_lang(query.from_user))
        await query.answer(text=reply)

    @router.callback_query(F.data.startswith("h:"))
    async def human_button(query: CallbackQuery, bot: Bot) -> None:
        await query.answer()
        raw = (query.data or "h:0").split(":")[1]
        msg = query.message
        if not raw.isdigit() or not isinstance(msg, Message):
            return
        # the answer id in the button must be the answer posted as the clicked message, or the answer our
        # offer after a 👎 replies to (no forged escalations)
        posted = await answer_for_ref(db, platform=PLATFORM, platform_ref=ref_of(msg.chat.id, msg.message_id))
        if posted != int(raw) and msg.reply_to_message is not None:
            replied = ref_of(msg.chat.id, msg.reply_to_message.message_id)
            posted = await answer_for_ref(db, platform=PLATFORM, platform_ref=replied)
        key = await session_of_answer(db, message_id=int(raw)) if posted == int(raw) else None
        if key is None:
            log.warning("telegram.human_mismatch", message_id=raw)
            return
        incoming = Incoming(
            text="human", user=user_ref(query.from_user), session=key, lang=user_lang(query.from_user)
        )
        topic = msg.message_thread_id if msg.is_topic_message else None
        sink = TelegramSink(bot, chat_id=msg.chat.id, reply_to=msg.message_id, thread_id=topic)
        await request_human(ctx.services, incoming, sink)

    return router


def _lifecycle_reactions(event: MessageReactionUpdated) -> list[str]:
    """The lifecycle reactions just added (✅ / 👀). Telegram's reaction set has no ✅: 👌 stands in."""
    old = {r.emoji for r in event.old_reaction if isinstance(r, ReactionTypeEmoji)}
    added = [r.emoji for r in event.new_reaction if isinstance(r, ReactionTypeEmoji) and r.emoji not in old]
    named = ["✅" if emoji == "👌" else emoji for emoji in added]
    return sorted((e for e in named if lifecycle_step(e)), key=lambda e: lifecycle_step(e) == "resolve")


async def _page_reaction(
    ctx: TelegramContext, bot: Bot, event: MessageReactionUpdated, emojis: list[str]
) -> None:
    """Acknowledge / resolve the escalation whose page this is; say so in a reply to the page."""
    service = ctx.services.escalation
    if service is None or event.user is None:
        return
    who = event.user.full_name or str(event.user.id)
    for emoji in emojis:  # 👀 before ✅ when both come at once
        reply = await react_on_page(
            service,
            platform=PLATFORM,
            platform_ref=ref_of(event.chat.id, event.message_id),
            reaction=emoji,
            by=who,
            lang=user_lang(event.user),
        )
        if reply is not None:
            sink = TelegramSink(bot, chat_id=event.chat.id, reply_to=event.message_id)
            await StreamRenderer(
                sink, lang=user_lang(event.user), nonce=f"page:{event.message_id}:{emoji}"
            ).say(reply)


def _offer_sink(bot: Bot) -> Callable[[HumanOffer], TelegramSink]:
    """The offer replies to the answer (in its forum topic, if any): its button is checked against it."""

    def sink_for(offer: HumanOffer) -> TelegramSink:
        thread = offer.session.thread
        topic = int(thread.split(":", 1)[1]) if thread.startswith("topic:") else None
        reply_to = int(offer.answer_ref.rsplit(":", 1)[1]) if offer.answer_ref else None
        return TelegramSink(bot, chat_id=int(offer.session.channel), reply_to=reply_to, thread_id=topic)

    return sink_for


def _reaction_vote(event: MessageReactionUpdated) -> Literal[-1, 0, 1] | None:
    """The vote a reaction change means: the 👍/👎 just added, the one left, or 0 when none is left."""

    def votes(reactions: list[Any]) -> set[Literal[-1, 1]]:
        found = {reaction_value(r.emoji) for r in reactions if isinstance(r, ReactionTypeEmoji)}
        return {v for v in found if v is not None}

    old, new = votes(event.old_reaction), votes(event.new_reaction)
    if added := new - old:
        return next(iter(added))
    if len(new) == 1:
        return next(iter(new)) if new != old else None
    return 0 if old and not new else None
