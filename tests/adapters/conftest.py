"""Slack adapter fixtures: the fake Slack, the real core, the adapter in HTTP and in Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from adapters.slack import SlackChannel
from bot.config import SlackSettings
from bot.services import Services
from tests.fakes.slack_server import FakeSlackServer, event, signed

SIGNING_SECRET = "test-signing-secret"


async def wait_for(predicate: Callable[[], Any], within: float = 20.0, what: str = "condition") -> Any:
    """Poll ``predicate`` (sync or async) until truthy, failing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if isinstance(value, Awaitable):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlackServer]:
    fake = FakeSlackServer()
    await fake.start()
    yield fake
    await fake.close()


def slack_settings(fake: FakeSlackServer, mode: str) -> SlackSettings:
    return SlackSettings(
        bot_token="xoxb-test-token",
        app_token="xapp-test-token",
        signing_secret=SIGNING_SECRET,
        mode=mode,  # type: ignore[arg-type]
        api_url=fake.api_url,
        edit_interval=0.05,
    )


class HttpSlack:
    """The adapter in HTTP Events mode behind FastAPI, driven like Slack drives it."""

    def __init__(self, channel: SlackChannel, client: httpx.AsyncClient) -> None:
        self.channel = channel
        self.client = client

    async def deliver(
        self,
        inner: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        secret: str = SIGNING_SECRET,
    ) -> httpx.Response:
        body = json.dumps(event(inner, event_id=event_id))
        return await self.post(body, "application/json", secret=secret, retry_num=retry_num)

    async def post(self, body: str, content_type: str, *, secret: str = SIGNING_SECRET,
                   retry_num: int | None = None) -> httpx.Response:  # fmt: skip
        headers = {"Content-Type": content_type, **signed(body, secret, retry_num=retry_num)}
        return await self.client.post("/slack/events", content=body, headers=headers)


@contextlib.asynccontextmanager
async def open_http_slack(core: Services, slack_fake: FakeSlackServer) -> AsyncIterator[HttpSlack]:
    """The adapter in HTTP mode over ``core``, mounted on its own FastAPI app."""
    channel = SlackChannel(core, slack_settings(slack_fake, "http"))
    api = FastAPI()
    assert channel.router is not None
    api.include_router(channel.router)
    await channel.start()
    transport = httpx.ASGITransport(app=api)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://opora.test") as client:
            yield HttpSlack(channel, client)
    finally:
        await channel.stop()


@pytest.fixture
async def http_slack(core: Services, slack_fake: FakeSlackServer) -> AsyncIterator[HttpSlack]:
    async with open_http_slack(core, slack_fake) as slack:
        yield slack


@pytest.fixture
async def socket_slack(core: Services, slack_fake: FakeSlackServer) -> AsyncIterator[SlackChannel]:
    channel = SlackChannel(core, slack_settings(slack_fake, "socket"))
    await channel.start()
    await wait_for(lambda: slack_fake.socket_connections == 1, what="the socket connection")
    yield channel
    await channel.stop()
