"""Token buckets of the shared rate limiter, each step one atomic statement (SQLite and PostgreSQL).

A bucket holds up to ``limit`` tokens and refills at ``rate`` tokens per second. Taking a token is one
conditional ``UPDATE``: the refill and the check happen inside the database, so concurrent replicas never
both take the last token (PostgreSQL re-checks the ``WHERE`` of a row it waited for; SQLite has one writer).
"""

from __future__ import annotations

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RateLimitBucket
from storage.repositories._upsert import insert_for


def _level(now: float, limit: float, rate: float):  # type: ignore[no-untyped-def]
    """The bucket's tokens at ``now`` as an SQL expression: refilled since ``updated_at``, capped."""
    elapsed = case((RateLimitBucket.updated_at < now, literal(now) - RateLimitBucket.updated_at), else_=0.0)
    refilled = RateLimitBucket.tokens + elapsed * rate
    return case((refilled > limit, literal(limit)), else_=refilled)


async def take(
    session: AsyncSession, *, key: str, now: float, limit: float, rate: float, cost: float
) -> bool:
    """Take ``cost`` tokens from ``key``'s bucket; False (and nothing taken) when it holds fewer."""
    if cost > limit:
        return False
    fresh = insert_for(session, RateLimitBucket).values(
        key=key, tokens=limit - cost, updated_at=now, full_at=now + cost / rate
    )
    created = await session.execute(fresh.on_conflict_do_nothing(index_elements=["key"]))
    if created.rowcount:
        return True
    current = _level(now, limit, rate)
    result = await session.execute(
        update(RateLimitBucket)
        .where(RateLimitBucket.key == key, current >= cost)
        .values(
            tokens=current - cost,
            updated_at=case(
                (RateLimitBucket.updated_at < now, literal(now)), else_=RateLimitBucket.updated_at
            ),
            full_at=literal(now) + (literal(limit) - (current - cost)) / rate,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def level(session: AsyncSession, *, key: str, now: float, limit: float, rate: float) -> float:
    """Tokens in ``key``'s bucket at ``now`` (a full bucket when it does not exist)."""
    stmt = select(_level(now, limit, rate)).where(RateLimitBucket.key == key)
    value = (await session.execute(stmt)).scalar_one_or_none()
    return float(limit if value is None else value)


async def reset(session: AsyncSession, *, key: str) -> None:
    await session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == key))


async def purge_full(session: AsyncSession, *, now: float) -> int:
    """Forget buckets that have refilled completely (a missing bucket is a full one)."""
    result = await session.execute(delete(RateLimitBucket).where(RateLimitBucket.full_at < now))
    return int(result.rowcount or 0)
