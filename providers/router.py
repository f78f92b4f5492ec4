"""The provider router: a chain of providers that is itself an ``LLMProvider``.

One request carries a deadline for its first token (the answer budget); each try gets what is left.
Retries (exponential backoff, full jitter, Retry-After honoured) happen on retryable failures only;
config errors (400/401/403) move straight to the next provider. A breaker per provider makes a dead
provider cost no time; a rate limiter per provider makes a request wait or fall through instead of earning
a 429. A stream that breaks before its first token moves to the next provider; after it, the router raises
``StreamInterrupted`` (the caller keeps the partial answer) and records the failure.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, replace

import structlog

from providers import metrics
from providers.base import (
    AllProvidersFailed,
    ChatRequest,
    ChatResult,
    LLMProvider,
    ProviderConfigError,
    ProviderError,
    ProviderRateLimited,
    ProviderSkipped,
    ProviderUnavailable,
    StreamEnd,
    StreamEvent,
    StreamInterrupted,
    TokenDelta,
    complete_from_stream,
)
from providers.breaker import BreakerState, CircuitBreaker
from providers.limits import ProviderLimits
from providers.settings import RetrySettings

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Route:
    """One link of the chain: a provider with its breaker and limits."""

    provider: LLMProvider
    breaker: CircuitBreaker
    limits: ProviderLimits
    max_tokens: int = 800
    cooling_until: float = 0.0  # a long Retry-After: skip this provider until then


def breaker_metric(provider: str) -> Callable[[BreakerState], None]:
    gauge = metrics.breaker_state.labels(provider)
    gauge.set(0)
    return lambda state: gauge.set(metrics.BREAKER_VALUES[state.value])


class ProviderRouter:
    """Streams from the first provider of the chain that can answer in time."""

    name = "router"

    def __init__(
        self,
        routes: list[Route],
        *,
        budget: float = 3.0,
        retry: RetrySettings | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.routes = routes
        self.budget = budget
        self.retry = retry or RetrySettings()
        self._rng = rng
        self.model = ">".join(f"{r.provider.name}:{r.provider.model}" for r in routes)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        loop = asyncio.get_running_loop()
        deadline = request.deadline if request.deadline is not None else loop.time() + self.budget
        prompt_tokens = sum(len(m.content) for m in request.messages) // 4
        errors: list[ProviderError] = []
        for route in self.routes:
            name = route.provider.name
            skip = self._skip_reason(route, loop.time())
            if skip is not None:
                errors.append(ProviderSkipped(name, skip))
                metrics.fallbacks.labels(name, skip).inc()
                continue
            attempt = 0
            while True:
                remaining = deadline - loop.time()
                tokens = prompt_tokens + (request.max_tokens or route.max_tokens)
                if remaining <= 0 or not await self._acquire(route, tokens, remaining):
                    route.breaker.release()
                    err: ProviderError = ProviderSkipped(
                        name, "no budget" if remaining <= 0 else "rate limit"
                    )
                    break
                attempt += 1
                started = False
                started_at = loop.time()
                metrics.provider_requests.labels(name).inc()
                try:
                    async with aclosing(route.provider.stream(replace(request, deadline=deadline))) as events:
                        async for event in events:
                            if not started and isinstance(event, TokenDelta):
                                started = True
                                metrics.provider_ttft.labels(name).observe(loop.time() - started_at)
                            elif isinstance(event, StreamEnd):
                                self._record_end(event, loop.time() - started_at)
                            yield event
                except (asyncio.CancelledError, GeneratorExit):
                    # the caller gave up (a background judge's timeout, a reader who left): no verdict on
                    # the provider, but a half-open probe must not stay claimed or the breaker never closes
                    route.breaker.release()
                    raise
                except ProviderError as exc:
                    err = exc
                except Exception as exc:  # a bug in a provider must not take the chain down
                    err = ProviderUnavailable(name, f"unexpected {type(exc).__name__}")
                    log.exception("provider.unexpected_error", provider=name)
                else:
                    route.breaker.record_success()
                    return
                self._record_failure(route, err, attempt, started)
                if started:
                    raise StreamInterrupted(name, err) from err
                delay = self._retry_delay(route, err, attempt, deadline - loop.time())
                if delay is None:
                    break
                metrics.retries.labels(name).inc()
                await asyncio.sleep(delay)
            errors.append(err)
            metrics.fallbacks.labels(name, err.kind).inc()
        log.warning("router.all_failed", errors=[f"{e.provider}:{e.kind}" for e in errors])
        raise AllProvidersFailed(errors)

    async def complete(self, request: ChatRequest) -> ChatResult:
        return await complete_from_stream(self, request)

    async def aclose(self) -> None:
        for route in self.routes:
            await route.provider.aclose()

    def _skip_reason(self, route: Route, now: float) -> str | None:
        if now < route.cooling_until:
            return "retry_after"
        if not route.breaker.allow():
            return "breaker_open"
        return None

    async def _acquire(self, route: Route, tokens: int, remaining: float) -> bool:
        limits = route.limits
        if limits.unlimited:
            return True
        ok = await limits.acquire(tokens, remaining=remaining)
        metrics.rate_limited.labels(route.provider.name, "passed" if ok else "fell_through").inc()
        return ok

    def _record_end(self, end: StreamEnd, seconds: float) -> None:
        metrics.provider_latency.labels(end.provider).observe(seconds)
        if end.usage is not None:
            metrics.provider_tokens.labels(end.provider, "prompt").inc(end.usage.prompt_tokens)
            metrics.provider_tokens.labels(end.provider, "completion").inc(end.usage.completion_tokens)

    def _record_failure(self, route: Route, err: ProviderError, attempt: int, started: bool) -> None:
        name = route.provider.name
        route.breaker.record_failure()
        metrics.provider_errors.labels(name, err.kind).inc()
        if isinstance(err, ProviderConfigError):
            log.error("provider.config_error", provider=name, error=str(err))
        else:
            log.warning(
                "provider.failed", provider=name, kind=err.kind, attempt=attempt, after_first_token=started
            )

    def _retry_delay(self, route: Route, err: ProviderError, attempt: int, remaining: float) -> float | None:
        """Seconds to wait before trying the same provider again, or ``None`` to move on."""
        if not err.retryable or attempt >= self.retry.attempts:
            return None
        if isinstance(err, ProviderRateLimited) and err.retry_after is not None:
            if err.retry_after > self.retry.max_retry_after or err.retry_after >= remaining:
                route.cooling_until = asyncio.get_running_loop().time() + err.retry_after
                return None
            delay = err.retry_after
        else:
            delay = self._rng() * min(self.retry.max_delay, self.retry.base_delay * 2 ** (attempt - 1))
        if delay >= remaining or not route.breaker.allow():
            return None
        return delay
