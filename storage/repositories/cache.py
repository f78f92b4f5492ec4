"""The shared answer cache table (see ``providers/cache.py`` for the cache logic)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AnswerCacheEntry, utcnow
from storage.repositories._upsert import insert_for


async def cache_get(session: AsyncSession, *, key: str) -> AnswerCacheEntry | None:
    entry = await session.get(AnswerCacheEntry, key)
    if entry is None:
        return None
    return entry if entry.expires_at > utcnow() else None


async def cache_put(
    session: AsyncSession,
    *,
    key: str,
    value: dict[str, Any],
    doc_versions: dict[str, Any],
    model: str | None,
    expires_at: datetime,
) -> None:
    values = {"value": value, "doc_versions": doc_versions, "model": model, "expires_at": expires_at}
    insert = insert_for(session, AnswerCacheEntry).values(key=key, created_at=utcnow(), **values)
    await session.execute(insert.on_conflict_do_update(index_elements=["key"], set_=values))


async def cache_delete(session: AsyncSession, *, key: str) -> None:
    await session.execute(delete(AnswerCacheEntry).where(AnswerCacheEntry.key == key))


async def cache_purge_expired(session: AsyncSession) -> int:
    result = await session.execute(delete(AnswerCacheEntry).where(AnswerCacheEntry.expires_at < utcnow()))
    return int(result.rowcount or 0)
