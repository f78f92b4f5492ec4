"""The one protocol every LLM provider speaks, its stream events and its typed errors.

A provider streams a chat completion: ``TokenDelta`` events, then one ``StreamEnd`` with usage and the
finish reason. ``complete()`` is built on the stream. Vendor errors are mapped to ``ProviderError``
subclasses at the seam, so the router decides retry / fallback on our types only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(slots=True)
class ChatRequest:
    """One chat completion. ``deadline`` (event-loop time) bounds the wait for the first token."""

    messages: list[ChatMessage]
    max_tokens: int | None = None
    temperature: float | None = None
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class TokenDelta:
    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    provider: str
    model: str
    finish_reason: str | None = None
    usage: Usage | None = None


StreamEvent = TokenDelta | StreamEnd


@dataclass(slots=True)
class ChatResult:
    text: str
    provider: str
    model: str
    finish_reason: str | None = None
    usage: Usage | None = None


class LLMProvider(Protocol):
    name: str
    model: str

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Token deltas, then exactly one ``StreamEnd``; raises ``ProviderError`` on failure."""
        ...

    async def complete(self, request: ChatRequest) -> ChatResult: ...

    async def aclose(self) -> None: ...


async def complete_from_stream(provider: LLMProvider, request: ChatRequest) -> ChatResult:
    """The non-streaming call, built on ``stream``."""
    parts: list[str] = []
    end: StreamEnd | None = None
    async for event in provider.stream(request):
        if isinstance(event, TokenDelta):
            parts.append(event.text)
        else:
            end = event
    if end is None:
        raise ProviderUnavailable(provider.name, "stream ended without a final event")
    return ChatResult("".join(parts), end.provider, end.model, end.finish_reason, end.usage)


class ProviderError(Exception):
    """A provider failed. ``retryable``: trying the same provider again may succeed."""

    kind = "error"
    retryable = False

    def __init__(self, provider: str, message: str = "") -> None:
        super().__init__(f"{provider}: {message}" if message else provider)
        self.provider = provider


class ProviderRateLimited(ProviderError):
    kind = "rate_limited"
    retryable = True

    def __init__(self, provider: str, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """5xx, connection refused or dropped."""

    kind = "unavailable"
    retryable = True


class ProviderTimeout(ProviderError):
    """``phase`` "first_token" is not retried on the same provider: a hung provider would eat the budget."""

    kind = "timeout"

    def __init__(self, provider: str, message: str = "", phase: str = "read") -> None:
        super().__init__(provider, message)
        self.phase = phase
        self.retryable = phase != "first_token"


class ProviderConfigError(ProviderError):
    """400/401/403/404: wrong key, model or request. Never retried; logged as a configuration error."""

    kind = "config"


class ProviderSkipped(ProviderError):
    """Not tried: breaker open, rate limit without capacity, or no budget left."""

    kind = "skipped"


class AllProvidersFailed(ProviderError):
    """Every provider of the chain failed or was skipped before the first token."""

    kind = "all_failed"

    def __init__(self, errors: list[ProviderError]) -> None:
        ProviderError.__init__(self, "router", "; ".join(str(e) for e in errors) or "empty chain")
        self.errors = errors


class StreamInterrupted(ProviderError):
    """The stream broke after its first token; the text so far has been delivered."""

    kind = "interrupted"

    def __init__(self, provider: str, cause: ProviderError) -> None:
        super().__init__(provider, f"stream broke after first token: {cause}")
        self.cause = cause


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds only; HTTP dates are rare for APIs)."""
    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


async def timed(
    provider: str,
    events: AsyncIterator[StreamEvent],
    *,
    first_token_timeout: float,
    total_timeout: float,
    deadline: float | None,
) -> AsyncIterator[StreamEvent]:
    """Bound a raw stream: the first token by ``min(first_token_timeout, deadline)``, the rest by total.

    ``asyncio.timeout_at`` costs no task per chunk, which keeps router overhead small.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    first_by = start + first_token_timeout
    if deadline is not None:
        first_by = min(first_by, deadline)
    total_by = start + total_timeout
    got_token = False
    iterator = aiter(events)
    try:
        while True:
            limit = total_by if got_token else min(first_by, total_by)
            try:
                async with asyncio.timeout_at(limit):
                    event = await anext(iterator)
            except StopAsyncIteration:
                return
            except TimeoutError:
                phase = "total" if got_token else "first_token"
                raise ProviderTimeout(provider, f"no {phase.replace('_', ' ')} in time", phase) from None
            if isinstance(event, TokenDelta):
                got_token = True
            yield event
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class TimedStreamProvider:
    """Shared ``stream``/``complete`` of the SDK-backed providers: ``_raw`` under the configured timeouts."""

    name: str
    settings: Any  # ProviderSettings (timeouts); Any keeps base.py free of the settings import

    def _raw(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:  # pragma: no cover - overridden
        raise NotImplementedError

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        s = self.settings
        return timed(
            self.name,
            self._raw(request),
            first_token_timeout=s.first_token_timeout,
            total_timeout=s.total_timeout,
            deadline=request.deadline,
        )

    async def complete(self, request: ChatRequest) -> ChatResult:
        return await complete_from_stream(self, request)  # type: ignore[arg-type]
