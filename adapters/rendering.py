"""Platform-neutral streaming of an answer into a messenger thread (used through ``adapters.channels``).

Acknowledge at once (a placeholder message or a reaction), edit the message with the growing answer no
more often than the platform allows, finish with sources and feedback controls. Platform calls are
retried on 429/5xx with backoff honouring Retry-After; a post that may have landed is looked up by its
nonce rather than re-posted, so a retry never doubles a message.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

import structlog

from bot.errors import FeatureNotSupported
from bot.texts import t
from bot.types import (
    Answer,
    AnswerDelta,
    AnswerEnd,
    AnswerEvent,
    AnswerNotice,
    AnswerSources,
    AnswerStart,
    Lang,
    Source,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")
Dialect = Literal["slack", "telegram", "mattermost", "markdown"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a platform can do. The renderer adapts to it; asking for a missing one raises.

    Attributes:
        can_edit: messages can be edited (streaming by edits); otherwise the answer is posted once, whole.
        can_react: the bot can put a reaction on a message (acknowledgement by reaction).
        max_len: characters per message in the platform's dialect (longer answers are split).
        dialect: the markup the adapter's formatter produces.
        min_edit_interval: seconds between two edits of one message (the platform's rate limits).
        ack: how a question is acknowledged at once: a placeholder message or a reaction on it.
        can_lookup: the adapter can find a post it made by its nonce (so a post that may have landed is
            checked instead of re-posted blindly).
        buttons: messages can carry buttons that call back into Opora (votes, "call a human"); without
            them the core points at commands instead.
    """

    can_edit: bool
    can_react: bool
    max_len: int
    dialect: Dialect
    min_edit_interval: float = 1.0
    ack: Literal["placeholder", "reaction"] = "placeholder"
    can_lookup: bool = False
    buttons: bool = False

    def __post_init__(self) -> None:
        if self.ack == "reaction":
            self.require("react")
        if self.ack == "placeholder":
            self.require("edit")

    def require(self, feature: Literal["edit", "react", "lookup"]) -> None:
        """Raise ``FeatureNotSupported`` when the platform lacks ``feature``."""
        present = {"edit": self.can_edit, "react": self.can_react, "lookup": self.can_lookup}[feature]
        if not present:
            raise FeatureNotSupported(
                f"This messenger ({self.dialect}) cannot {feature} messages.",
                f"Этот мессенджер ({self.dialect}) не умеет: {feature}.",
            )


class PlatformError(Exception):
    """A platform API call failed; adapters map their SDK's errors to this at the seam.

    Attributes:
        status: the HTTP status, or ``None`` for a transport failure.
        retry_after: seconds the platform asked us to wait (HTTP 429 ``Retry-After``).
        retryable: 429, 5xx and transport failures are; 4xx client errors are not.
        maybe_delivered: the request may have taken effect (5xx after sending, a dropped connection):
            a post is then looked up, never re-posted blindly.
    """

    def __init__(
        self,
        op: str,
        status: int | None,
        *,
        retry_after: float | None = None,
        retryable: bool | None = None,
        maybe_delivered: bool = False,
        detail: str = "",
    ) -> None:
        super().__init__(f"{op} failed: {status} {detail}".strip())
        self.op = op
        self.status = status
        self.retry_after = retry_after
        self.retryable = (
            retryable if retryable is not None else (status is None or status == 429 or status >= 500)
        )
        self.maybe_delivered = maybe_delivered


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0


async def with_retry(op: str, call: Callable[[], Awaitable[T]], policy: RetryPolicy | None = None) -> T:
    """``call()``, retried on retryable ``PlatformError`` with exponential backoff honouring Retry-After."""
    policy = policy or RetryPolicy()
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except PlatformError as exc:
            if not exc.retryable or attempt == policy.attempts:
                raise
            backoff = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1)
            delay = min(policy.max_delay, exc.retry_after) if exc.retry_after is not None else backoff
            log.warning("channel.retry", op=op, status=exc.status, attempt=attempt, delay_s=round(delay, 2))
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


# --- rendering -----------------------------------------------------------------------------------


@dataclass(slots=True)
class Draft:
    """What to show, in canonical Markdown; the adapter's ``render`` turns it into platform payloads."""

    text: str
    lang: Lang
    final: bool = False
    sources: list[Source] = field(default_factory=list)
    notice: str | None = None
    message_id: int | None = None  # the stored answer: set on the final draft, feedback controls use it
    controls: bool = False  # 👍/👎 and "call a human" buttons
    offer_human: bool = False  # only the "call a human" button (the offer after a 👎 on an abstain)


class Sink(Protocol):
    """One thread on one platform, as the renderer sees it (implemented by each adapter)."""

    capabilities: Capabilities

    def render(self, draft: Draft) -> Sequence[Any]:
        """Platform payloads for ``draft``, one per message (the last carries the controls)."""
        ...

    async def react(self, name: Literal["eyes"]) -> None:
        """Put the reaction ``name`` (a neutral name the adapter maps to its emoji) on the question."""
        ...

    async def post(self, payload: Any, *, nonce: str) -> str:
        """Post into the thread; returns the platform ref of the new message. Raises ``PlatformError``."""
        ...

    async def edit(self, ref: str, payload: Any) -> None: ...

    async def find_post(self, nonce: str) -> str | None:
        """The ref of our post carrying ``nonce``, if it landed; ``FeatureNotSupported`` if unknowable."""
        ...


class StreamRenderer:
    """Shows one answer (or one short reply) in one thread through a ``Sink``."""

    def __init__(
        self,
        sink: Sink,
        *,
        lang: Lang,
        nonce: str,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.caps = sink.capabilities
        self.lang = lang
        self.nonce = nonce
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.refs: list[str] = []  # our messages in this thread, in order
        self._shown: Any = None  # the payload last shown in the first message
        # frames of a growing answer are worth a quick retry only; the final message gets ``policy``
        self.frame_policy = RetryPolicy(
            attempts=2, base_delay=self.policy.base_delay, max_delay=self.policy.base_delay * 2
        )
        self.frames_failed = False  # a frame could not be shown: the rest of the stream is only kept

    async def acknowledge(self) -> None:
        """Show at once that the question was seen: a reaction on it, or a placeholder to edit later.

        A failure here is logged, not raised: the answer is still generated, stored and posted at the end.
        """
        try:
            if self.caps.ack == "reaction":
                await with_retry("react", lambda: self.sink.react("eyes"), self.frame_policy)
            else:
                await self._show(Draft(text=t("thinking", self.lang), lang=self.lang))
        except PlatformError as exc:
            log.warning("channel.ack_failed", status=exc.status)

    async def hold(self, text: str) -> None:
        """Tell the user their question waits in line: in the placeholder (later edited into the answer)
        where messages can be edited, else in a message of its own."""
        draft = Draft(text=text, lang=self.lang)
        if self.caps.can_edit:
            await self._show(draft)
        else:
            payload = self.sink.render(Draft(text=text, lang=self.lang, final=True))[0]
            await with_retry(
                "post", lambda: self.sink.post(payload, nonce=f"{self.nonce}:q"), self.frame_policy
            )

    async def stream(
        self,
        events: AsyncIterator[AnswerEvent],
        link: Callable[[int, str], Awaitable[None]] | None = None,
    ) -> Answer:
        """Render the engine's events; ``link(answer_id, ref)`` ties the answer to its last message."""
        draft = Draft(text="", lang=self.lang)
        answer: Answer | None = None
        last = self.clock()
        async for event in events:
            if isinstance(event, AnswerStart):
                draft.lang = self.lang = event.lang
            elif isinstance(event, AnswerDelta):
                draft.text += event.text
                due = not self.refs or self.clock() - last >= self.caps.min_edit_interval
                if self.caps.can_edit and draft.text.strip() and due and not self.frames_failed:
                    try:
                        await self._show(draft)
                    except PlatformError as exc:  # keep reading: the engine stores the whole answer
                        log.warning("channel.frame_failed", status=exc.status)
                        self.frames_failed = True
                    last = self.clock()
            elif isinstance(event, AnswerNotice):
                draft.notice = f"{draft.notice}\n{event.text}" if draft.notice else event.text
            elif isinstance(event, AnswerSources):
                draft.sources = list(event.sources)
            elif isinstance(event, AnswerEnd):
                answer = event.answer
        if answer is None:
            raise RuntimeError("the answer stream ended without AnswerEnd")
        final = Draft(
            text=answer.text,
            lang=answer.lang,
            final=True,
            sources=answer.sources,
            notice=answer.notice,
            message_id=answer.message_id,
            controls=answer.message_id is not None,
        )
        message_id = answer.message_id

        async def on_last(ref: str) -> None:
            if link is not None and message_id is not None:
                await link(message_id, ref)

        await self.finish(final, on_last)
        return answer

    async def say(self, text: str, lang: Lang | None = None) -> str:
        """A short final reply (a command's answer, an error): replaces the placeholder if there is one."""
        return await self.finish(Draft(text=text, lang=lang or self.lang, final=True))

    async def finish(self, draft: Draft, on_last: Callable[[str], Awaitable[None]] | None = None) -> str:
        """Show the final ``draft`` (edit what was posted, post the rest); returns the last message's ref.

        ``on_last(ref)`` runs as soon as the last message's ref is known: before its final edit (so a
        reaction on the visible answer always finds it), or right after it is posted.
        """
        payloads = list(self.sink.render(draft))
        for index, payload in enumerate(payloads):
            last = index == len(payloads) - 1
            if index < len(self.refs):
                if last and on_last is not None:
                    await on_last(self.refs[index])
                if index > 0 or payload != self._shown:
                    await with_retry(
                        "edit", lambda r=self.refs[index], p=payload: self.sink.edit(r, p), self.policy
                    )
            else:
                await self._post(index, payload)
                if last and on_last is not None:
                    await on_last(self.refs[index])
        return self.refs[len(payloads) - 1]

    async def _show(self, draft: Draft) -> None:
        """The first message shows the answer so far (the adapter's render cuts it to one message)."""
        payload = self.sink.render(draft)[0]
        if not self.refs:
            await self._post(0, payload, self.frame_policy)
        elif payload != self._shown:
            try:
                await with_retry("edit", lambda: self.sink.edit(self.refs[0], payload), self.frame_policy)
            except PlatformError as exc:  # an intermediate frame may be lost; the final edit is not
                log.warning("channel.edit_skipped", status=exc.status)
                return
        self._shown = payload

    async def _post(self, index: int, payload: Any, policy: RetryPolicy | None = None) -> None:
        nonce = f"{self.nonce}:{index}"

        async def attempt() -> str:
            try:
                return await self.sink.post(payload, nonce=nonce)
            except PlatformError as exc:
                if not exc.maybe_delivered:
                    raise
                try:
                    found = await self.sink.find_post(nonce)
                except FeatureNotSupported as unknowable:  # cannot tell: never risk a second copy
                    log.error("channel.post_unverifiable", status=exc.status)
                    raise PlatformError("post", exc.status, retryable=False) from unknowable
                if found is not None:
                    log.info("channel.post_found_after_error", status=exc.status)
                    return found
                raise

        self.refs.append(await with_retry("post", attempt, policy or self.policy))
        if index == 0:
            self._shown = payload
