"""Faults, each against the real core: nothing is lost and the user is told.

Every test's docstring is one row of the fault matrix (``python -m bench.faults`` prints it): the fault,
then after "→" the outcome the test asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select

from adapters.api import install_error_handlers, router
from bot.app import build_services, close_services
from bot.config import Settings
from bot.services import Services
from bot.types import Incoming, Platform, SessionKey, UserRef
from storage.models import Message
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.fakes.own_postgres import OwnPostgres

ROLLBACK = "How do I roll back a helm release to a previous revision?"


def ask(text: str = ROLLBACK, user: str = "u1", thread: str = "t1") -> Incoming:
    return Incoming(
        text=text,
        user=UserRef(Platform.API, user),
        session=SessionKey(Platform.API, user, thread),
        lang="en",
    )


async def stored_answers(services: Services) -> list[Message]:
    async with services.db.read() as s:
        return list((await s.execute(select(Message).where(Message.kind == "answer"))).scalars())


async def build(golden: tuple[Path, Path], tmp_path: Path, **overrides: Any) -> Services:
    data_src, kb = golden
    data = tmp_path / "data"
    shutil.copytree(data_src, data)
    url = overrides.pop("database_url", f"sqlite+aiosqlite:///{data / 'opora.db'}")
    kb_settings = {"paths": [kb], "ingest_on_start": False}
    settings = Settings(data_dir=data, database_url=url, kb=kb_settings, **overrides)
    services = await build_services(settings)
    services.index.finish()
    return services


async def readyz(services: Services) -> dict[str, Any]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.services = services
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://opora") as client:
        response = await client.get("/readyz")
    return {"code": response.status_code, **response.json()}


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAIServer]:
    fake = FakeOpenAIServer()
    await fake.start()
    yield fake
    await fake.close()


def llm_settings(fake: FakeOpenAIServer) -> dict[str, Any]:
    provider = {
        "kind": "openai",
        "base_url": fake.base_url,
        "api_key": "sk-test-key-0000",
        "model": "m",
        "first_token_timeout": 0.5,
        "total_timeout": 5.0,
    }
    return {"chain": ["fake"], "providers": {"fake": provider}, "budget": 1.5, "cache": {"enabled": False}}


@pytest.mark.parametrize("fault", ["down", "slow", "429 storm"])
async def test_llm_fault(golden_core_dir, tmp_path, llm, fault):
    """LLM down (503) / slow (no first token in time) / 429 storm → answered from the docs (extractive),
    the user told the model is unavailable, the answer stored."""
    llm.default = {
        "down": Reply(status=503),
        "slow": Reply(ttft=10.0),
        "429 storm": Reply(status=429, retry_after=0.05),
    }[fault]
    services = await build(golden_core_dir, tmp_path, providers=llm_settings(llm))
    try:
        answers = await asyncio.gather(*(services.engine.ask(ask(thread=f"t{i}")) for i in range(3)))
        for answer in answers:
            assert answer.notice and "language model is unavailable" in answer.notice
            assert "helm rollback" in answer.text.lower() and answer.message_id is not None
        assert len(llm.requests) >= 3  # the model was really tried
        assert sorted(a.text for a in await stored_answers(services)) == sorted(a.text for a in answers)
    finally:
        await close_services(services)


async def test_vector_store_down(core):
    """Vector store errors (the store is gone) → no internal error: the user is told search is
    unavailable, that nobody was paged and how to reach a person; the exchange is stored; /readyz
    shows search down."""
    store = core.extras["store"]
    await store.close()
    answer = await core.engine.ask(ask())
    assert "search is unavailable" in answer.text and "I could not call a human" in answer.text
    assert "on-call channel" in answer.text and answer.abstained and answer.message_id is not None
    assert "paged" not in answer.text.replace("not paged", "")  # nobody is claimed to be called
    [stored] = await stored_answers(core)
    assert stored.text == answer.text
    ready = await readyz(core)
    assert ready["code"] == 200 and ready["mode"] == "degraded" and ready["search"] == "down"


async def test_embedder_down_falls_back_to_bm25(golden_core_dir, tmp_path):
    """Embedder errors (dense search impossible) → BM25-only search answers, with a notice that search
    is degraded; stored; /readyz shows search bm25."""
    with socket.socket() as s:  # nothing listens on the port of a closed socket
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    embeddings = {"backend": "openai", "url": f"http://127.0.0.1:{dead}/v1", "api_key": "x", "timeout": 2}
    services = await build(golden_core_dir, tmp_path, embeddings=embeddings)
    try:
        answer = await services.engine.ask(ask("helm rollback revision"))
        assert answer.notice and "keyword search only" in answer.notice
        assert answer.message_id is not None and answer.sources
        assert answer.sources[0].path == "helm/en/helm/helm_rollback.md"
        ready = await readyz(services)
        assert ready["search"] == "bm25" and ready["mode"] == "degraded"
    finally:
        await close_services(services)


@pytest.fixture
def own_postgres() -> Any:
    reason = OwnPostgres.missing()
    if reason:
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="opora-pg-"))
    server = OwnPostgres(folder)
    server.init()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(Exception):  # already stopped by the test
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
async def test_postgres_restarted_mid_load(golden_core_dir, tmp_path, own_postgres):
    """PostgreSQL restarted mid-load → every question answered (during the outage without history,
    with a notice that storage is down); the outbox writes them once it is back: nothing lost. With the
    outbox full, a question gets a clear "storage unavailable" (ru/en) instead."""
    from bot.resilience.recording import StorageUnavailable

    services = await build(
        golden_core_dir,
        tmp_path,
        database_url=own_postgres.url,
        resilience={"db_retry_interval": 0.2, "db_connect_timeout": 2, "outbox_size": 4},
    )
    try:
        before = await asyncio.gather(*(services.engine.ask(ask(thread=f"a{i}")) for i in range(4)))
        await asyncio.to_thread(own_postgres.stop)
        during = await asyncio.gather(*(services.engine.ask(ask(thread=f"b{i}")) for i in range(4)))
        ready = await readyz(services)
        assert ready["code"] == 503 and ready["database"].startswith("down") and ready["mode"] == "degraded"
        with pytest.raises(StorageUnavailable) as refused:  # the outbox holds 4: the fifth is refused
            await services.engine.ask(ask(thread="b-extra"))
        assert "Хранилище" in refused.value.message("ru") and "storage" in refused.value.message("en")
        await asyncio.to_thread(own_postgres.start)
        after = await asyncio.gather(*(services.engine.ask(ask(thread=f"c{i}")) for i in range(4)))
        assert all(a.message_id is not None and not a.notice for a in before)
        for a in during:
            assert a.message_id is None and a.notice and "storage is unavailable" in a.notice
            assert "helm rollback" in a.text.lower()
        assert services.outbox is not None
        deadline = asyncio.get_running_loop().time() + 60
        while len(services.outbox) and asyncio.get_running_loop().time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert len(services.outbox) == 0 and services.outbox.dropped == 0
        stored = await stored_answers(services)
        assert len(stored) == 12 and {m.text for m in stored} >= {a.text for a in during}
        async with services.db.read() as s:
            questions = (
                await s.execute(select(func.count()).select_from(Message).where(Message.kind == "question"))
            ).scalar_one()
        assert questions == 12 and all(a.message_id is not None for a in after)
        assert (await readyz(services))["mode"] == "normal"
    finally:
        await close_services(services)
