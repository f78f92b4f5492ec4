"""Fixtures for the escalation tests: paging fakes, a controllable clock, a service over a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.escalation.wiring import build_escalation
from bot.types import SessionKey, UserRef
from storage.repositories import conversations, messages, users
from tests.fakes.openai_server import FakeOpenAIServer
from tests.fakes.paging_server import FakePagingServer


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
async def paging() -> AsyncIterator[FakePagingServer]:
    fake = FakePagingServer()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def provider_settings(fake: FakeOpenAIServer) -> dict[str, Any]:
    """``settings.providers`` for one OpenAI-compatible fake (no answer cache: every answer is asked)."""
    provider = {
        "kind": "openai",
        "base_url": fake.base_url,
        "api_key": "sk-test-key",
        "model": "gpt-test",
        "first_token_timeout": 5.0,  # above the judge's timeout: a slow judge is cut by its own
        "total_timeout": 10.0,
    }
    return {"chain": ["openai"], "providers": {"openai": provider}, "cache": {"enabled": False}}


def make_settings(**escalation: object) -> Settings:
    base: dict[str, object] = {"announce_timeout": 4.0, "repage_minutes": 10}
    base.update(escalation)
    return Settings(escalation=base)  # type: ignore[arg-type]


async def thread(
    db, *, platform: str = "slack", channel: str = "C1", ts: str = "100.1", text: str = "prod down"
):
    """A conversation with one question from ``asker``: (SessionKey, UserRef, conversation id, message id)."""
    key = SessionKey(platform, channel, ts)
    asker = UserRef(platform, "UASK", display_name="asker")
    async with db.session() as s:
        user = await users.get_or_create_user(s, platform=platform, external_id="UASK", display_name="asker")
        conv = await conversations.get_or_create_conversation(
            s, platform=platform, channel=channel, thread=ts
        )
        q = await messages.add_question(s, conversation_id=conv.id, user_id=user.id, text=text, lang="en")
    return key, asker, conv.id, q.id


@pytest.fixture
async def service_factory(db, clock):
    made = []

    async def make(settings: Settings, worker: str | None = None):
        service, http = build_escalation(settings, db, clock=clock, worker=worker)
        made.append((service, http))
        return service

    yield make
    for service, http in made:
        await service.stop()
        await http.aclose()
