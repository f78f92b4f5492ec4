"""Small persistent key/value state."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Setting
from storage.repositories._upsert import insert_for


async def get_or_set(session: AsyncSession, *, key: str, default: str) -> str:
    """The stored value, or ``default`` stored now; the first writer wins across replicas."""
    insert = insert_for(session, Setting).values(key=key, value=default)
    await session.execute(insert.on_conflict_do_nothing(index_elements=["key"]))
    row = await session.get(Setting, key)
    assert row is not None
    return row.value


async def put(session: AsyncSession, *, key: str, value: str) -> None:
    """Store ``value`` under ``key``, replacing what was there."""
    insert = insert_for(session, Setting).values(key=key, value=value)
    await session.execute(insert.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


async def with_prefix(session: AsyncSession, *, prefix: str) -> dict[str, str]:
    """Every key starting with ``prefix``, and its value."""
    rows = await session.execute(select(Setting.key, Setting.value).where(Setting.key.startswith(prefix)))
    return {key: value for key, value in rows.all()}
