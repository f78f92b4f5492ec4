"""Processed platform events: the first replica to claim an event id handles it, others drop it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedEvent, utcnow
from storage.repositories._upsert import insert_for


async def claim_event(session: AsyncSession, *, platform: str, event_id: str) -> bool:
    """True when this call is the first to see ``event_id``; False for a redelivery."""
    insert = insert_for(session, ProcessedEvent).values(
        platform=platform, event_id=event_id[:255], created_at=utcnow()
    )
    result = await session.execute(insert.on_conflict_do_nothing(index_elements=["platform", "event_id"]))
    return bool(result.rowcount)


async def purge_events(session: AsyncSession, *, older_than: timedelta) -> int:
    result = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.created_at < utcnow() - older_than)
    )
    return int(result.rowcount or 0)
