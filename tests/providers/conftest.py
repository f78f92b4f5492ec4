from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from providers.breaker import CircuitBreaker
from providers.gigachat import GigaChatProvider
from providers.limits import ProviderLimits
from providers.openai_compat import OpenAICompatProvider
from providers.router import ProviderRouter, Route
from providers.settings import ProviderSettings, RetrySettings
from tests.fakes.gigachat_server import FakeGigaChatServer
from tests.fakes.openai_server import FakeOpenAIServer

CREDENTIALS = base64.b64encode(b"client-id:client-secret").decode()
# generous enough for a loaded 2-core CI machine; deadline tests set their own tighter values
FAST = {"connect_timeout": 1.0, "first_token_timeout": 1.0, "total_timeout": 5.0}


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer(api_key="sk-test")
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def second_fake() -> AsyncIterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def gigachat_fake() -> AsyncIterator[FakeGigaChatServer]:
    fake = FakeGigaChatServer(credentials=CREDENTIALS)
    await fake.start()
    yield fake
    await fake.close()


def openai_provider(name: str, fake: FakeOpenAIServer, **overrides: Any) -> OpenAICompatProvider:
    settings = ProviderSettings(
        kind="openai", base_url=fake.base_url, model=f"{name}-model", **{**FAST, **overrides}
    )
    return OpenAICompatProvider(name, settings, api_key=fake.api_key or "unused")


def gigachat_provider(fake: FakeGigaChatServer, **overrides: Any) -> GigaChatProvider:
    settings = ProviderSettings(
        kind="gigachat",
        base_url=fake.base_url,
        auth_url=fake.auth_url,
        model="GigaChat-Pro",
        verify_ssl=False,
        **{**FAST, **overrides},
    )
    return GigaChatProvider("gigachat", settings, credentials=fake.credentials)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def route(
    provider: Any, *, breaker: CircuitBreaker | None = None, limits: ProviderLimits | None = None
) -> Route:
    return Route(
        provider, breaker or CircuitBreaker(failure_threshold=3, cooldown=30), limits or ProviderLimits()
    )


@pytest.fixture
def make_router() -> Callable[..., ProviderRouter]:
    def make(routes: list[Route], *, budget: float = 2.0, attempts: int = 2, **retry: Any) -> ProviderRouter:
        settings = RetrySettings(attempts=attempts, base_delay=0.01, max_delay=0.05, **retry)
        return ProviderRouter(routes, budget=budget, retry=settings, rng=lambda: 1.0)

    return make
