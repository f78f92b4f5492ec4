"""The router against fake servers: fallback order, retries, Retry-After, breaker, limits, deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from providers.base import (
    AllProvidersFailed,
    ChatMessage,
    ChatRequest,
    StreamEnd,
    StreamInterrupted,
    TokenDelta,
)
from providers.breaker import BreakerState, CircuitBreaker
from providers.limits import ProviderLimits
from providers.router import ProviderRouter
from tests.adapters.conftest import wait_for
from tests.fakes.gigachat_server import FakeGigaChatServer
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.providers.conftest import FakeClock, gigachat_provider, openai_provider, route

REQUEST = ChatRequest([ChatMessage("user", "hi")])
MakeRouter = Callable[..., ProviderRouter]


def now() -> float:
    return asyncio.get_running_loop().time()


async def answer(router: ProviderRouter) -> tuple[str, str]:
    result = await router.complete(REQUEST)
    return result.provider, result.text


async def test_fallback_order_follows_chain(
    gigachat_fake: FakeGigaChatServer,
    openai_fake: FakeOpenAIServer,
    second_fake: FakeOpenAIServer,
    make_router: MakeRouter,
) -> None:
    gigachat_fake.default = Reply(status=503)
    openai_fake.default = Reply(status=500)
    router = make_router(
        [
            route(gigachat_provider(gigachat_fake)),
            route(openai_provider("deepseek", openai_fake)),
            route(openai_provider("openai", second_fake)),
        ]
    )
    assert await answer(router) == ("openai", "Hello, world.")
    assert (len(gigachat_fake.requests), len(openai_fake.requests), len(second_fake.requests)) == (2, 2, 1)
    await router.aclose()


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_config_errors_go_straight_to_next(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter, status: int
) -> None:
    openai_fake.default = Reply(status=status)
    router = make_router(
        [route(openai_provider("a", openai_fake)), route(openai_provider("b", second_fake))], attempts=3
    )
    assert (await answer(router))[0] == "b"
    assert len(openai_fake.requests) == 1  # never retried
    await router.aclose()


@pytest.mark.parametrize(
    "reply", [Reply(status=503), Reply(status=500), Reply(drop_after=0), Reply(status=429)]
)
async def test_retryable_failures_are_retried(
    openai_fake: FakeOpenAIServer, make_router: MakeRouter, reply: Reply
) -> None:
    openai_fake.script(reply)
    router = make_router([route(openai_provider("a", openai_fake))], attempts=2)
    assert await answer(router) == ("a", "Hello, world.")
    assert len(openai_fake.requests) == 2
    await router.aclose()


async def test_retry_after_is_honoured(openai_fake: FakeOpenAIServer, make_router: MakeRouter) -> None:
    openai_fake.script(Reply(status=429, retry_after=0.25))
    router = make_router([route(openai_provider("a", openai_fake))])
    started = now()
    assert await answer(router) == ("a", "Hello, world.")
    assert 0.25 <= now() - started < 0.6
    await router.aclose()


async def test_long_retry_after_moves_on_and_cools_the_provider(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    openai_fake.script(Reply(status=429, retry_after=30))
    router = make_router([route(openai_provider("a", openai_fake)), route(openai_provider("b", second_fake))])
    started = now()
    assert (await answer(router))[0] == "b"
    assert now() - started < 0.2
    assert (await answer(router))[0] == "b"  # "a" is not asked again before its Retry-After
    assert len(openai_fake.requests) == 1
    await router.aclose()


async def test_breaker_opens_skips_probes_and_closes(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=2, cooldown=10, clock=clock)
    router = make_router(
        [route(openai_provider("a", openai_fake), breaker=breaker), route(openai_provider("b", second_fake))],
        attempts=1,
    )
    openai_fake.default = Reply(status=503)
    for _ in range(2):
        assert (await answer(router))[0] == "b"
    assert breaker.state is BreakerState.OPEN
    assert (await answer(router))[0] == "b"
    assert len(openai_fake.requests) == 2  # skipped while open: costs no request, no time
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    openai_fake.default = Reply()
    assert (await answer(router))[0] == "a"  # the probe succeeds
    assert breaker.state is BreakerState.CLOSED
    await router.aclose()


async def test_failed_probe_reopens(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=10, clock=clock)
    router = make_router(
        [route(openai_provider("a", openai_fake), breaker=breaker), route(openai_provider("b", second_fake))]
    )
    openai_fake.default = Reply(status=503)
    await answer(router)
    clock.now += 10
    await answer(router)
    assert len(openai_fake.requests) == 2 and breaker.state is BreakerState.OPEN  # one probe, no retry
    await router.aclose()


async def test_a_cancelled_probe_leaves_the_breaker_free_for_the_next_probe(
    openai_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    """A caller that gives up mid-probe (a background judge's timeout) does not block the breaker."""
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=10, clock=clock)
    router = make_router([route(openai_provider("a", openai_fake), breaker=breaker)], attempts=1)
    openai_fake.default = Reply(status=503)
    with pytest.raises(AllProvidersFailed):
        await router.complete(REQUEST)
    clock.now += 10
    release = asyncio.Event()
    openai_fake.default = Reply(release=release)
    probe = asyncio.create_task(router.complete(REQUEST))
    await wait_for(lambda: len(openai_fake.requests) == 2, within=10, what="the probe at the provider")
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    release.set()
    assert breaker.state is BreakerState.HALF_OPEN  # no verdict on the provider either way
    result = await router.complete(REQUEST)
    assert result.text == "Hello, world." and breaker.state is BreakerState.CLOSED
    await router.aclose()


async def test_rate_limit_falls_through(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    limits = ProviderLimits(requests_per_minute=1, on_limit="fallthrough")
    router = make_router(
        [route(openai_provider("a", openai_fake), limits=limits), route(openai_provider("b", second_fake))]
    )
    assert [(await answer(router))[0] for _ in range(3)] == ["a", "b", "b"]
    await router.aclose()


async def test_rate_limit_waits_for_capacity(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    limits = ProviderLimits(requests_per_minute=1, period=0.2, on_limit="wait", max_wait=1.0)
    router = make_router(
        [route(openai_provider("a", openai_fake), limits=limits), route(openai_provider("b", second_fake))]
    )
    started = now()
    assert [(await answer(router))[0] for _ in range(2)] == ["a", "a"]
    assert now() - started >= 0.15
    await router.aclose()


async def test_tokens_per_minute_limit(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    limits = ProviderLimits(tokens_per_minute=1000, on_limit="fallthrough")
    primary = openai_provider("a", openai_fake, max_tokens=600)
    router = make_router([route(primary, limits=limits), route(openai_provider("b", second_fake))])
    router.routes[0].max_tokens = 600
    assert [(await answer(router))[0] for _ in range(2)] == ["a", "b"]
    await router.aclose()


async def test_hung_primary_costs_only_its_first_token_timeout(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    openai_fake.default = Reply(hang=True)
    router = make_router(
        [
            route(openai_provider("a", openai_fake, first_token_timeout=0.3)),
            route(openai_provider("b", second_fake)),
        ]
    )
    started = now()
    assert (await answer(router))[0] == "b"
    assert now() - started < 0.3 + 0.2
    assert len(openai_fake.requests) == 1  # a first-token timeout is not retried on the same provider
    await router.aclose()


async def test_deadline_bounds_the_whole_chain(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    openai_fake.default = Reply(hang=True)
    second_fake.default = Reply(hang=True)
    slow = {"first_token_timeout": 5.0}
    router = make_router(
        [route(openai_provider("a", openai_fake, **slow)), route(openai_provider("b", second_fake, **slow))],
        budget=0.4,
    )
    started = now()
    with pytest.raises(AllProvidersFailed) as caught:
        await answer(router)
    assert now() - started < 0.4 + 0.2
    assert [e.provider for e in caught.value.errors] == ["a", "b"]
    await router.aclose()


async def test_break_before_first_token_moves_on(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    openai_fake.default = Reply(drop_after=0)
    router = make_router(
        [route(openai_provider("a", openai_fake)), route(openai_provider("b", second_fake))], attempts=1
    )
    assert await answer(router) == ("b", "Hello, world.")
    await router.aclose()


async def test_break_after_first_token_keeps_partial_and_records(
    openai_fake: FakeOpenAIServer, second_fake: FakeOpenAIServer, make_router: MakeRouter
) -> None:
    openai_fake.default = Reply(drop_after=2)
    breaker = CircuitBreaker(failure_threshold=1, cooldown=10)
    router = make_router(
        [route(openai_provider("a", openai_fake), breaker=breaker), route(openai_provider("b", second_fake))]
    )
    seen: list[str] = []
    with pytest.raises(StreamInterrupted):
        async for event in router.stream(REQUEST):
            assert not isinstance(event, StreamEnd)
            if isinstance(event, TokenDelta):
                seen.append(event.text)
    assert seen == ["Hello", ", "]
    assert breaker.state is BreakerState.OPEN and second_fake.requests == []
    await router.aclose()
