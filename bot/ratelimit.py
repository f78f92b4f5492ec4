"""A rate limiter shared by every replica: token buckets kept in the database.

Use it wherever a limit must hold across processes (API tokens, messenger users, the web chat)::

    limiter = RateLimiter(services.db)          # or services.limiter, built once by bot.app
    decision = await limiter.hit(f"api:token:{token_id}", limit=60, per_seconds=60)
    if not decision.allowed:
        raise RateLimited(en, ru, retry_after=decision.retry_after)

``hit(key, limit=N, per_seconds=S)`` allows bursts of up to ``N`` and a sustained ``N / S`` per second: the
bucket for ``key`` holds ``N`` tokens and refills continuously. A refused hit takes nothing, so a client that
waits ``retry_after`` seconds is let through. Keys are free-form strings up to 255 characters; prefix them
with the caller's area (``api:``, ``tg:``, ``web:``) so areas never share a bucket. Each hit is one short
transaction (an ``INSERT ... ON CONFLICT DO NOTHING`` or a conditional ``UPDATE``), atomic on SQLite and
PostgreSQL alike; full buckets are forgotten now and then (a missing bucket is a full one).

When the database fails, the limiter lets the hit through and logs ``ratelimit.unavailable``: a limit is not
worth refusing every question over (the question itself will meet the same database anyway).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from storage.db import Database
from storage.repositories import ratelimits

log = structlog.get_logger(__name__)
PURGE_ONE_IN = 1000  # about one hit in this many also sweeps full buckets away
MAX_KEY = 255


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit: ``retry_after`` is 0 when allowed, else the seconds until it would be."""

    allowed: bool
    retry_after: float = 0.0


class RateLimiter:
    """Token buckets in the ``rate_limits`` table (see the module docstring)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    async def hit(self, key: str, *, limit: int, per_seconds: float, cost: float = 1.0) -> Decision:
        """Count one event for ``key``; at most ``limit`` per ``per_seconds`` (bursts up to ``limit``).

        ``limit <= 0`` means no limit. Never raises on database errors (allows, and logs).
        """
        if limit <= 0 or per_seconds <= 0:
            return Decision(True)
        key = key[:MAX_KEY]
        rate = limit / per_seconds
        now = self.clock()
        try:
            async with self.db.session() as s:
                if await ratelimits.take(s, key=key, now=now, limit=limit, rate=rate, cost=cost):
                    allowed, retry = True, 0.0
                else:
                    level = await ratelimits.level(s, key=key, now=now, limit=limit, rate=rate)
                    allowed, retry = False, max(0.001, (cost - level) / rate)
            await self._maybe_purge(now)
        except Exception as exc:  # a broken limiter must not refuse every question
            log.warning("ratelimit.unavailable", key=key, error=type(exc).__name__)
            return Decision(True)
        if not allowed:
            log.info("ratelimit.refused", key=key, retry_after=round(retry, 2))
        return Decision(allowed, retry)

    async def reset(self, key: str) -> None:
        async with self.db.session() as s:
            await ratelimits.reset(s, key=key[:MAX_KEY])

    async def _maybe_purge(self, now: float) -> None:
        if random.randrange(PURGE_ONE_IN):  # stateless, so one limiter per request is fine
            return
        async with self.db.session() as s:
            purged = await ratelimits.purge_full(s, now=now)
        log.debug("ratelimit.purged", buckets=purged)
