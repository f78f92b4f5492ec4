"""Shared fixtures: a real database (SQLite always, PostgreSQL when a server answers)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import bot.logging
from storage.db import Database

bot.logging.CACHE_LOGGERS = False  # capture_logs must see every logger, whichever test configured logging

PG_ADMIN_URL = os.environ.get("OPORA_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
KB_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "kb"


async def _pg_available() -> str | None:
    import asyncpg

    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout=3)
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN_URL} does not answer ({type(exc).__name__}: {exc})"
    await conn.close()
    return None


async def _create_pg_database() -> str:
    """A fresh database per test, so tests never see each other's rows."""
    import asyncpg

    name = f"opora_t_{uuid.uuid4().hex[:12]}"
    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def _drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    dsn = PG_ADMIN_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        await database.migrate()
        yield database
        await database.close()
        return
    reason = await _pg_available()
    if reason:
        pytest.skip(reason)
    url = await _create_pg_database()
    database = Database(url)
    try:
        await database.migrate()
        yield database
    finally:
        await database.close()
        await _drop_pg_database(url)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
    await database.migrate()
    yield database
    await database.close()


# --- the real core on a small knowledge base -------------------------------------------------------------
# Embedding is the slow part, so the sample subset is indexed once per test session into a "golden" data
# folder; every test gets its own copy (its own SQLite file and Qdrant Edge folder), so tests stay isolated.

SAMPLE_DOCS = (
    "werf/en/reference/debug_env_vars.md",
    "werf/ru/reference/debug_env_vars.md",
    "werf/en/resources/cheat_sheet.md",
    "werf/ru/resources/cheat_sheet.md",
    "helm/en/helm/helm_rollback.md",
    "helm/en/intro/quickstart.md",
    "helm/ru/intro/quickstart.md",
)


def copy_sample_kb(target: Path, docs: tuple[str, ...] = SAMPLE_DOCS) -> Path:
    """A small subset of ../shared/kb with its relative paths kept."""
    import shutil

    if not KB_ROOT.is_dir():
        pytest.skip(f"the sample knowledge base is not at {KB_ROOT}")
    for rel in docs:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(KB_ROOT / rel, dest)
    return target


def core_settings(data_dir: Path, kb: Path, **overrides: object):
    from bot.config import Settings

    return Settings(
        data_dir=data_dir,
        database_url=f"sqlite+aiosqlite:///{data_dir / 'opora.db'}",
        kb={"paths": [kb], "ingest_on_start": False},
        **overrides,
    )


async def build_core(data_dir: Path, kb: Path, *, ingest: bool = True, **overrides: object):
    """Services over ``kb`` in ``data_dir`` (ingested when ``ingest``)."""
    from bot.app import build_services
    from bot.ingest_job import ingest_paths

    services = await build_services(core_settings(data_dir, kb, **overrides))
    if ingest:
        await ingest_paths(services, [kb])
    return services


@pytest.fixture(scope="session")
def golden_core_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample subset indexed once: (data folder, KB folder)."""
    from bot.app import close_services

    root = tmp_path_factory.mktemp("golden")
    kb = copy_sample_kb(root / "kb")
    data = root / "data"

    async def build() -> None:
        services = await build_core(data, kb)
        await close_services(services)

    asyncio.run(build())
    return data, kb


@pytest.fixture
async def core_factory(golden_core_dir: tuple[Path, Path], tmp_path: Path):
    """Makes real ``Services`` over the indexed sample subset with settings ``overrides`` (e.g. paging
    targets), each private to the test; all are closed after it."""
    import shutil

    from bot.app import close_services

    data_src, kb = golden_core_dir
    made = []

    async def make(**overrides: object):
        data = tmp_path / ("data" if not made else f"data{len(made)}")
        # the onnx embedder's built graph is not copied: the process already holds it loaded
        shutil.copytree(data_src, data, ignore=shutil.ignore_patterns("models"))
        services = await build_core(data, kb, ingest=False, **overrides)
        services.index.finish()
        made.append(services)
        return services

    try:
        yield make
    finally:
        for services in made:
            await close_services(services)


@pytest.fixture
async def core(core_factory):
    """Real ``Services`` (engine, commands, db, index) over the indexed sample subset, private to the test."""
    return await core_factory()
