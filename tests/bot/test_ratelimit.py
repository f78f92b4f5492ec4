"""The shared rate limiter on a real database (SQLite and PostgreSQL): bursts, refill, replicas, races."""

from __future__ import annotations

import asyncio

from bot.ratelimit import RateLimiter
from storage.db import Database
from storage.models import RateLimitBucket
from storage.repositories import ratelimits


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_burst_then_refused_with_retry_after_then_refilled(db: Database) -> None:
    clock = Clock()
    limiter = RateLimiter(db, clock=clock)
    decisions = [await limiter.hit("k", limit=3, per_seconds=60) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 19.9 < decisions[-1].retry_after <= 20.0  # one token per 20 s
    clock.now += 10
    refused = await limiter.hit("k", limit=3, per_seconds=60)
    assert not refused.allowed and 9.9 < refused.retry_after <= 10.0  # a refused hit took nothing
    clock.now += 10
    assert (await limiter.hit("k", limit=3, per_seconds=60)).allowed
    assert not (await limiter.hit("k", limit=3, per_seconds=60)).allowed


async def test_keys_are_independent_and_a_full_bucket_never_overfills(db: Database) -> None:
    clock = Clock()
    limiter = RateLimiter(db, clock=clock)
    assert (await limiter.hit("a", limit=1, per_seconds=1)).allowed
    assert (await limiter.hit("b", limit=1, per_seconds=1)).allowed
    assert not (await limiter.hit("a", limit=1, per_seconds=1)).allowed
    clock.now += 3600  # an idle hour refills to the limit, not beyond
    assert (await limiter.hit("a", limit=1, per_seconds=1)).allowed
    assert not (await limiter.hit("a", limit=1, per_seconds=1)).allowed


async def test_two_replicas_share_the_limit(db: Database) -> None:
    """Two limiters on two engines (two processes' worth) of one database share each bucket."""
    other = Database(db.url)
    try:
        clock = Clock()
        a, b = RateLimiter(db, clock=clock), RateLimiter(other, clock=clock)
        results = [await (a if i % 2 else b).hit("user:1", limit=4, per_seconds=60) for i in range(6)]
        assert [r.allowed for r in results] == [True, True, True, True, False, False]
    finally:
        await other.close()


async def test_concurrent_hits_never_exceed_the_limit(db: Database) -> None:
    limiter = RateLimiter(db, clock=Clock())
    results = await asyncio.gather(*(limiter.hit("race", limit=5, per_seconds=3600) for _ in range(20)))
    assert sum(r.allowed for r in results) == 5


async def test_clock_running_backwards_refills_nothing(db: Database) -> None:
    clock = Clock()
    limiter = RateLimiter(db, clock=clock)
    assert (await limiter.hit("skew", limit=1, per_seconds=10)).allowed
    clock.now -= 100  # another replica's clock is behind
    assert not (await limiter.hit("skew", limit=1, per_seconds=10)).allowed


async def test_zero_limit_means_unlimited_and_full_buckets_are_purged(db: Database) -> None:
    clock = Clock()
    limiter = RateLimiter(db, clock=clock)
    assert all([(await limiter.hit("x", limit=0, per_seconds=60)).allowed for _ in range(5)])
    await limiter.hit("y", limit=2, per_seconds=10)
    async with db.session() as s:
        assert await ratelimits.purge_full(s, now=clock.now) == 0
        assert await ratelimits.purge_full(s, now=clock.now + 6) == 1
        assert await s.get(RateLimitBucket, "y") is None


async def test_database_failure_lets_the_hit_through(tmp_path) -> None:
    broken = Database(f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}")  # no rate_limits table
    try:
        assert (await RateLimiter(broken).hit("k", limit=1, per_seconds=60)).allowed
    finally:
        await broken.close()
