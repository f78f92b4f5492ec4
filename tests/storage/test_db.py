"""The write path: SQLite takes concurrent writers (one at a time) without "database is locked"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.sessions import open_session
from bot.types import Platform, SessionKey, UserRef
from storage.db import Database, DatabaseUnavailable
from storage.models import Message
from storage.repositories import messages


async def _exchange(db: Database, n: int, gate: asyncio.Semaphore) -> None:
    async with gate:
        await _one(db, n)


async def _one(db: Database, n: int) -> None:
    """What one question writes: user and conversation (read, then created), the question, the answer."""
    user = UserRef(Platform.WEB, f"u{n % 7}")
    ctx = await open_session(db, user, SessionKey(Platform.WEB, f"u{n % 7}", f"t{n}"), history_turns=6)
    async with db.session() as s:
        q = await messages.add_question(
            s, conversation_id=ctx.conversation_id, user_id=ctx.user_id, text=f"q{n}", lang="en"
        )
    async with db.read() as s:  # readers run beside the writer
        assert await messages.recent_messages(s, conversation_id=ctx.conversation_id, limit=4)
    async with db.session() as s:
        await messages.add_answer(
            s,
            conversation_id=ctx.conversation_id,
            question_id=q.id,
            text=f"a{n}",
            lang="en",
            sources=[],
            latency_ms=1,
            provider="x",
            prompt_variant=None,
            abstained=False,
            escalated=False,
        )


async def test_many_concurrent_writers_never_see_database_is_locked(db: Database, tmp_path: Path):
    # and a second process-like writer (its own engine on the same file: ``opora ingest`` beside ``serve``)
    other = Database(db.url) if db.dialect == "sqlite" else None
    try:
        gate = asyncio.Semaphore(40)  # 40 questions in flight at once (PostgreSQL: twice its pool)
        jobs = [_exchange(db, n, gate) for n in range(120)]
        if other is not None:
            jobs += [_exchange(other, 1000 + n, gate) for n in range(40)]
        await asyncio.gather(*jobs)
    finally:
        if other is not None:
            await other.close()
    async with db.read() as s:
        count = (await s.execute(select(func.count()).select_from(Message))).scalar_one()
    assert count == 2 * (120 + (40 if other is not None else 0))


async def test_unreachable_database_raises_unavailable_and_fails_fast_until_pinged(tmp_path: Path):
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:9/none", connect_timeout=2, retry_interval=30)
    try:
        with pytest.raises(DatabaseUnavailable):
            async with db.session() as s:
                await s.execute(text("SELECT 1"))
        assert not db.available
        with pytest.raises(DatabaseUnavailable, match="a moment ago"):  # no new connection attempt
            async with db.read():
                pass
        with pytest.raises(DatabaseUnavailable):
            await db.ping()
    finally:
        await db.close()


async def test_a_bad_statement_is_not_taken_for_an_outage(sqlite_db: Database):
    with pytest.raises(Exception) as caught:
        async with sqlite_db.session() as s:
            await s.execute(text("SELECT * FROM no_such_table"))
    assert not isinstance(caught.value, DatabaseUnavailable) and sqlite_db.available
