"""Messenger event dedupe: the database decides across replicas; while it is down, this process's memory
of the events it saw then decides, for that database only."""

from __future__ import annotations

from pathlib import Path

from adapters.channels import claim_event
from storage.db import Database


async def new_db(path: Path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{path}", retry_interval=3600)
    await db.migrate()
    return db


async def test_a_redelivery_is_dropped_whether_the_database_was_up_or_down(tmp_path: Path) -> None:
    db = await new_db(tmp_path / "a.db")
    try:
        assert await claim_event(db, platform="slack", event_id="C1:1.0")
        assert not await claim_event(db, platform="slack", event_id="C1:1.0")
        db.mark_down()  # the database is taken as down: units of work fail fast
        assert await claim_event(db, platform="slack", event_id="C1:2.0")
        assert not await claim_event(db, platform="slack", event_id="C1:2.0")
        assert await claim_event(db, platform="telegram", event_id="C1:2.0")  # another platform's id
        await db.ping()  # back: the event claimed from memory during the outage stays claimed
        assert not await claim_event(db, platform="slack", event_id="C1:2.0")
        assert await claim_event(db, platform="slack", event_id="C1:3.0")
    finally:
        await db.close()


async def test_another_database_does_not_inherit_this_ones_claims(tmp_path: Path) -> None:
    first, second = await new_db(tmp_path / "a.db"), await new_db(tmp_path / "b.db")
    try:
        assert await claim_event(first, platform="slack", event_id="C1:1.0")
        first.mark_down()
        assert await claim_event(first, platform="slack", event_id="C1:2.0")
        # a second deployment (or test) in this process starts with nothing claimed
        assert await claim_event(second, platform="slack", event_id="C1:1.0")
        assert await claim_event(second, platform="slack", event_id="C1:2.0")
    finally:
        await first.close()
        await second.close()
