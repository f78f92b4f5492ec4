"""What every messenger adapter shares: dedupe, session keys, answer links, votes, the message flow.

No platform SDK here. An adapter maps a platform event to an ``Incoming`` and a ``Sink`` (its way to post,
edit and react in one thread; see ``adapters.rendering``) and calls ``handle_message``. Dedupe across
replicas, commands, the throttled streaming of the answer, retries without duplicate posts and linking the
posted message to the answer (for reactions) happen here, the same for every platform. Adapters run no SQL.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal
from weakref import WeakKeyDictionary

import structlog

from adapters.rendering import (
    Capabilities,
    Dialect,
    Draft,
    PlatformError,
    RetryPolicy,
    Sink,
    StreamRenderer,
    with_retry,
)
from bot.errors import NotFound, OporaError
from bot.escalation.offer import HumanOffer, human_offer
from bot.feedback import record_vote
from bot.language import detect_lang
from bot.resilience.recording import StorageUnavailable
from bot.services import Services
from bot.sessions import conversation_for, resolve_user
from bot.texts import t
from bot.types import Answer, Incoming, SessionKey, UserRef, Vote, VoteSource
from storage.db import Database, DatabaseUnavailable
from storage.repositories import conversations, events, feedback, messages

__all__ = [
    "Capabilities",
    "Dialect",
    "Draft",
    "PlatformError",
    "RetryPolicy",
    "Sink",
    "StreamRenderer",
    "answer_for_ref",
    "answers_in",
    "chat_key",
    "claim_event",
    "current_vote",
    "handle_message",
    "link_answer",
    "offer_human",
    "press_vote",
    "reaction_value",
    "request_human",
    "session_key",
    "vote",
    "vote_by_ref",
    "with_retry",
    "withdraw_by_ref",
]

log = structlog.get_logger(__name__)
UP_REACTIONS = frozenset({"+1", "thumbsup", "👍", "like"})
DOWN_REACTIONS = frozenset({"-1", "thumbsdown", "👎", "dislike"})


def session_key(platform: str, channel: str, thread_root: str | None, own_id: str) -> SessionKey:
    """Thread = session: the parent's id for a reply, the message's own id for a new thread."""
    return SessionKey(platform=platform, channel=channel, thread=thread_root or own_id)


def chat_key(platform: str, channel: str) -> SessionKey:
    """A private chat without threads is one session (``new`` starts a fresh one)."""
    return SessionKey(platform=platform, channel=channel, thread=channel)


# Events claimed while the database was down, per database (one process's memory: one replica's dedupe).
_LOCAL_CLAIMS: WeakKeyDictionary[Database, OrderedDict[tuple[str, str], None]] = WeakKeyDictionary()
_LOCAL_CLAIMS_MAX = 10_000


async def claim_event(db: Database, *, platform: str, event_id: str) -> bool:
    """True for the first delivery of ``event_id`` across all replicas; False for a redelivery.

    While the database is down, this process's memory of recent events dedupes instead (one replica).
    """
    key = (platform, event_id)
    local = _LOCAL_CLAIMS.setdefault(db, OrderedDict())
    try:
        async with db.session() as s:
            first = await events.claim_event(s, platform=platform, event_id=event_id)
        if first and key in local:
            first = False  # claimed here while the database was down, before it came back
    except DatabaseUnavailable:
        first = key not in local
        local[key] = None
        while len(local) > _LOCAL_CLAIMS_MAX:
            local.popitem(last=False)
    if not first:
        log.info("channel.duplicate_event", platform=platform, event_id=event_id)
    return first


async def answers_in(db: Database, key: SessionKey) -> bool:
    """Whether the bot already converses in this thread (follow-ups there need no mention)."""
    return await conversation_for(db, key) is not None


async def link_answer(db: Database, *, message_id: int, platform_ref: str) -> None:
    """Remember that answer ``message_id`` was posted as ``platform_ref`` (reactions point at it)."""
    async with db.session() as s:
        await messages.set_platform_ref(s, message_id=message_id, platform_ref=platform_ref)


async def answer_for_ref(db: Database, *, platform: str, platform_ref: str) -> int | None:
    async with db.session() as s:
        msg = await messages.find_by_platform_ref(s, platform=platform, platform_ref=platform_ref)
    return msg.id if msg is not None and msg.kind == "answer" else None


def reaction_value(name: str) -> Literal[-1, 1] | None:
    """+1 for 👍, -1 for 👎 (by emoji or by the platform's name for it), ``None`` for others."""
    name = name.strip(":").split("::", 1)[0]  # Slack skin tones: "+1::skin-tone-2"
    return 1 if name in UP_REACTIONS else -1 if name in DOWN_REACTIONS else None


async def vote_by_ref(
    db: Database,
    *,
    platform: str,
    platform_ref: str,
    user: UserRef,
    value: Literal[-1, 0, 1],
    source: VoteSource = VoteSource.REACTION,
) -> int | None:
    """Record a vote on the answer posted as ``platform_ref``; ``None`` when it is not one of our answers."""
    message_id = await answer_for_ref(db, platform=platform, platform_ref=platform_ref)
    if message_id is None:
        return None
    await record_vote(db, Vote(message_id=message_id, user=user, value=value, source=source))
    return message_id


async def withdraw_by_ref(
    db: Database, *, platform: str, platform_ref: str, user: UserRef, value: int
) -> None:
    """A removed 👍/👎 reaction withdraws the vote only if it is still the one that reaction gave."""
    message_id = await answer_for_ref(db, platform=platform, platform_ref=platform_ref)
    if message_id is not None and await current_vote(db, message_id=message_id, user=user) == value:
        await record_vote(db, Vote(message_id=message_id, user=user, value=0, source=VoteSource.REACTION))


async def current_vote(db: Database, *, message_id: int, user: UserRef) -> int:
    """The user's vote on answer ``message_id`` now: 1, -1, or 0 for none."""
    row = await resolve_user(db, user)
    async with db.session() as s:
        found = await feedback.get_vote(s, message_id=message_id, user_id=row.id)
    return int(found.value) if found is not None else 0


async def press_vote(
    db: Database,
    *,
    message_id: int,
    user: UserRef,
    pressed: Literal[-1, 1],
    clicked: tuple[str, str] | None = None,
) -> int:
    """A 👍/👎 button: the other one flips the vote, pressing the given one again withdraws it.

    ``clicked`` is (platform, platform_ref) of the message whose button was pressed: the answer id the
    button carries must be the answer posted as that message, else ``NotFound`` (a forged button value
    cannot vote on someone else's answer).
    """
    if clicked is not None:
        platform, platform_ref = clicked
        if await answer_for_ref(db, platform=platform, platform_ref=platform_ref) != message_id:
            log.warning("channel.vote_mismatch", platform=platform, message_id=message_id)
            raise NotFound(f"There is no answer with id {message_id}.", f"Ответа с номером {message_id} нет.")
    value: Literal[-1, 0, 1] = (
        0 if await current_vote(db, message_id=message_id, user=user) == pressed else pressed
    )
    await record_vote(db, Vote(message_id=message_id, user=user, value=value, source=VoteSource.BUTTON))
    return value


async def vote(
    db: Database, *, message_id: int, user: UserRef, value: Literal[-1, 0, 1], source: VoteSource
) -> None:
    """A button vote (the button carries the answer id)."""
    await record_vote(db, Vote(message_id=message_id, user=user, value=value, source=source))


async def session_of_answer(db: Database, *, message_id: int) -> SessionKey | None:
    """The session (platform, channel, thread) that answer ``message_id`` belongs to."""
    async with db.session() as s:
        msg = await messages.get_message(s, message_id=message_id)
        if msg is None:
            return None
        conv = await conversations.get_conversation(s, conversation_id=msg.conversation_id)
    if conv is None:
        return None
    return SessionKey(platform=conv.platform, channel=conv.channel, thread=conv.thread)


async def thread_of_ref(db: Database, *, platform: str, platform_ref: str) -> str | None:
    """The thread root of the conversation whose answer was posted as ``platform_ref``."""
    async with db.session() as s:
        msg = await messages.find_by_platform_ref(s, platform=platform, platform_ref=platform_ref)
        if msg is None:
            return None
        conv = await conversations.get_conversation(s, conversation_id=msg.conversation_id)
    return conv.thread if conv is not None else None


async def handle_message(
    services: Services,
    incoming: Incoming,
    sink: Sink,
    *,
    policy: RetryPolicy | None = None,
    per_minute: int = 0,
) -> Answer | None:
    """Answer one platform message in its thread: dedupe, command or streamed answer, errors in words.

    Returns the stored answer (``None`` for a redelivery, a command or an error). The event is claimed
    before answering: at most once, so a crash mid-answer loses that answer rather than doubling it.
    ``per_minute`` limits each user's questions (commands are free) through the shared database limiter;
    over it the user gets a polite reply saying when to ask again.
    """
    platform = incoming.session.platform
    if incoming.event_id and not await claim_event(
        services.db, platform=platform, event_id=incoming.event_id
    ):
        return None
    if await _human_has_it(services, incoming):
        log.info("channel.human_takeover", platform=platform, session=incoming.session.as_str())
        return None  # a human has the escalated thread now
    lang = incoming.lang or detect_lang(incoming.text, services.settings.answer.default_lang)
    resilience = services.settings.resilience
    policy = policy or RetryPolicy(attempts=resilience.post_attempts, max_delay=resilience.post_max_delay)
    renderer = StreamRenderer(sink, lang=lang, nonce=incoming.event_id or uuid.uuid4().hex, policy=policy)

    async def link(message_id: int, platform_ref: str) -> None:
        await link_answer(services.db, message_id=message_id, platform_ref=platform_ref)

    async def queued(position: int) -> None:
        await renderer.hold(t("busy_queued", renderer.lang, position=position))

    try:
        reply = await services.commands.handle(incoming)
        if reply is not None:
            await renderer.say(reply)
            return None
        if per_minute > 0:
            user = incoming.user
            key = f"{platform}:user:{user.external_id}"
            try:
                decision = await services.limiter.hit(key, limit=per_minute, per_seconds=60)
            except DatabaseUnavailable:  # the limits live in the database: answer (degraded) meanwhile
                decision = None
            if decision is not None and not decision.allowed:
                seconds = max(1, int(decision.retry_after + 0.999))
                log.info("channel.user_rate_limited", platform=platform, retry_after=seconds)
                await renderer.say(t("user_rate_limited", renderer.lang, limit=per_minute, seconds=seconds))
                return None
        async with services.admission.slot(on_queued=queued):
            await renderer.acknowledge()
            answer = await renderer.stream(services.engine.stream(incoming), link)
    except OporaError as exc:
        log.info("channel.refused", platform=platform, code=exc.code)
        await _say_safely(renderer, exc.message(renderer.lang))
        return None
    except PlatformError:
        # the answer itself is stored (the engine finishes it whatever the platform does); only its post
        # failed, after every retry
        log.exception("channel.answer_undelivered", platform=platform, session=incoming.session.as_str())
        return None
    except DatabaseUnavailable:
        log.warning("channel.storage_unavailable", platform=platform)
        await _say_safely(renderer, StorageUnavailable().message(renderer.lang))
        return None
    except Exception:
        log.exception("channel.failed", platform=platform, session=incoming.session.as_str())
        await _say_safely(renderer, t("internal_error", renderer.lang))
        return None
    return answer


async def _human_has_it(services: Services, incoming: Incoming) -> bool:
    """A human took the escalated thread over (unknown while the database is down: the bot answers)."""
    if services.escalation is None:
        return False
    try:
        return not await services.escalation.should_answer(incoming, mentioned=incoming.mentioned)
    except DatabaseUnavailable:
        return False


async def request_human(services: Services, incoming: Incoming, sink: Sink) -> None:
    """The "call a human" button: escalate the thread's conversation and say so in the thread."""
    lang = incoming.lang or detect_lang(incoming.text, services.settings.answer.default_lang)
    renderer = StreamRenderer(sink, lang=lang, nonce=incoming.event_id or uuid.uuid4().hex)
    await renderer.say(await services.engine.request_human(incoming))


async def offer_human(services: Services, *, message_id: int, sink_for: Callable[[HumanOffer], Sink]) -> bool:
    """After a 👎 on answer ``message_id``: post the offer to call a human in its thread, if the core says
    so (an abstained answer, once). ``sink_for`` gives the adapter's sink for the offer's thread; the
    offer carries the "call a human" button where that sink can show buttons, the command otherwise."""
    try:
        offer = await human_offer(services.db, message_id=message_id, escalator=services.engine.escalator)
    except DatabaseUnavailable:
        return False
    if offer is None:
        return False
    sink = sink_for(offer)
    button = sink.capabilities.buttons
    draft = Draft(
        text=offer.text(button=button),
        lang=offer.lang,
        final=True,
        message_id=message_id,
        offer_human=button,
    )
    try:
        await StreamRenderer(sink, lang=offer.lang, nonce=f"offer:{message_id}").finish(draft)
    except PlatformError:
        log.exception("channel.offer_undelivered", message_id=message_id)
        return False
    return True


async def _say_safely(renderer: StreamRenderer, text: str) -> None:
    try:
        await renderer.say(text)
    except PlatformError:
        log.exception("channel.platform_failed")
