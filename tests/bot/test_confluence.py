"""Confluence through the whole core (real embeddings, store, engine, REST API): sources carry the page URL,
and restricted text reaches only a private conversation of a reader the page allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.app import build_services, close_services, create_app
from bot.confluence_sync import sync_confluence
from bot.escalation.base import LogEscalator
from bot.types import Incoming, Platform, SessionKey, UserRef
from storage.models import JobRun
from tests.conftest import core_settings
from tests.fakes.confluence_server import FakeConfluence

SECRET = "The break-glass vault password rotates on Mondays; the current passphrase is cobalt-heron-42."
PUBLIC = "Deploys to production are frozen on Fridays after 16:00; ask the release manager for an exception."
QUESTION = "What is the break-glass vault passphrase?"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[object, FakeConfluence, dict[str, str]]]:
    fake = FakeConfluence("server", token="pat")
    await fake.start()
    fake.add_user("anna", "Anna Petrova", "anna@example.com", ("sre",))
    fake.add_user("boris", "Boris Ivanov", "boris@example.com")
    ids = {
        "public": fake.add_page("OPS", "Deploy freeze", f"<h2>Freeze</h2><p>{PUBLIC}</p>"),
        "secret": fake.add_page("OPS", "Break-glass vault", f"<h2>Vault</h2><p>{SECRET}</p>", groups=["sre"]),
    }
    kb = tmp_path / "kb"
    kb.mkdir()
    settings = core_settings(
        tmp_path / "data",
        kb,
        confluence={"url": fake.url, "kind": "server", "spaces": ["OPS"], "token": "pat"},
        scheduler={"enabled": False},
    )
    services = await build_services(settings)
    try:
        yield services, fake, ids
    finally:
        await close_services(services)
        await fake.close()


def asker(email: str | None, *, private: bool, channel: str = "c1") -> Incoming:
    platform = Platform.WEB if private else Platform.SLACK
    return Incoming(
        text=QUESTION,
        user=UserRef(platform=platform, external_id=email or "anon", email=email),
        session=SessionKey(platform=platform, channel=channel, thread=f"{email}-{private}-{channel}"),
        private=private,
        lang="en",
    )


async def test_restricted_pages_reach_only_allowed_readers_in_private(world) -> None:  # type: ignore[no-untyped-def]
    services, fake, ids = world
    stats = await sync_confluence(services, full=True, record=True)
    assert (stats.seen, stats.changed, stats.errors) == (2, 2, 0)
    async with services.db.session() as s:
        run = (await s.execute(select(JobRun))).scalar_one()
    assert run.job == "confluence.reconcile" and run.status == "ok" and run.counts["changed"] == 2

    # Anna (group sre) in the web chat: the restricted page answers, its URL is the source.
    anna = await services.engine.ask(asker("anna@example.com", private=True))
    assert "cobalt-heron-42" in anna.text and anna.restricted
    assert anna.sources[0].url == f"{fake.url}/display/OPS/Break-glass+vault#Break-glassvault-Vault"

    # The same question right after (retrieval cache warm): in a channel, from Boris, from an unknown user.
    for incoming in (
        asker("anna@example.com", private=False),  # a channel: public pages only, even for Anna
        asker("boris@example.com", private=True),  # not allowed
        asker(None, private=True),  # unknown: no e-mail
    ):
        answer = await services.engine.ask(incoming)
        assert "cobalt-heron" not in answer.text and not answer.restricted
        assert all("Break-glass" not in (s.url or "") for s in answer.sources)

    # The REST API: a caller is an unknown user.
    app = create_app(services.settings, channels=())
    app.state.services = services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora") as client:
        r = await client.post("/api/v1/ask", json={"text": QUESTION, "user_id": "anna@example.com"})
        assert r.status_code == 200, r.text
        assert "cobalt-heron" not in r.json()["answer"]
        r = await client.post("/api/v1/ask", json={"text": "When are deploys frozen?", "user_id": "u2"})
        assert r.json()["sources"][0]["url"].startswith(f"{fake.url}/display/OPS/Deploy+freeze")
        ready = (await client.get("/readyz")).json()
        assert ready["scheduler"]["jobs"]["confluence.reconcile"]["last_run"]["status"] == "ok"

    # Unrestricting the page makes it public at the next reconcile; deleting it removes it.
    fake.restrict(ids["secret"])
    await sync_confluence(services, full=True)
    answer = await services.engine.ask(asker(None, private=False, channel="c2"))
    assert "cobalt-heron-42" in answer.text
    fake.delete(ids["secret"])
    await sync_confluence(services, full=True)
    answer = await services.engine.ask(asker("anna@example.com", private=True, channel="c3"))
    assert "cobalt-heron" not in answer.text


async def test_a_failed_sync_is_recorded_and_deletes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    services, fake, _ids = world
    await sync_confluence(services, full=True)
    fake.outage_after(0)
    with pytest.raises(Exception, match="kept failing"):
        await sync_confluence(services, full=True, record=True, sleep=_no_sleep)
    async with services.db.session() as s:
        run = (await s.execute(select(JobRun))).scalar_one()
    assert run.status == "failed" and "kept failing" in (run.error or "")
    assert (await services.extras["store"].count()) > 0


async def _no_sleep(_s: float) -> None:
    return None


async def test_a_page_for_a_restricted_answer_withholds_its_text(world) -> None:  # type: ignore[no-untyped-def]
    """ "Call a human" after a restricted answer: the page (on-call channel, PagerDuty, a ticket) leaves the
    answer's text out; after a public answer it carries it."""
    services, _fake, _ids = world
    await sync_confluence(services, full=True)
    escalator = LogEscalator()
    services.engine.escalator = escalator

    anna = asker("anna@example.com", private=True)
    assert "cobalt-heron-42" in (await services.engine.ask(anna)).text
    await services.engine.request_human(replace(anna, text="human"))
    assert "cobalt-heron" not in escalator.sent[-1].answer
    assert escalator.sent[-1].answer.startswith("(withheld")

    # Boris may not read the vault page: his answer is built on public pages only and the page carries it
    public = replace(asker("boris@example.com", private=True, channel="c9"), text="When are deploys frozen?")
    said = (await services.engine.ask(public)).text
    await services.engine.request_human(replace(public, text="human"))
    assert escalator.sent[-1].answer == said
