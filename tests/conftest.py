"""Shared fixtures: a real database (SQLite always, PostgreSQL when a server answers)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.db import Database

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
