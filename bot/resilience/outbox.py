"""The outbox: writes kept in memory while the database is down, replayed in order once it answers.

Bounded (``resilience.outbox_size``): when it is full, new questions get a clear "storage unavailable"
message instead of an answer that could not be kept. A write that still fails after the database is back
for another reason (a bug, a constraint) is logged with its content and dropped, so one bad write never
blocks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from storage.db import Database, DatabaseUnavailable

log = structlog.get_logger(__name__)
Write = Callable[[Database], Awaitable[None]]


@dataclass(slots=True)
class Pending:
    what: str  # for logs: "exchange", "answer"
    write: Write


class Outbox:
    """A bounded FIFO of writes; ``start`` runs the replayer (probing the database every ``interval``)."""

    def __init__(self, db: Database, *, size: int = 1000, interval: float = 1.0) -> None:
        self.db = db
        self.size = size
        self.interval = interval
        self._queue: deque[Pending] = deque()
        self._reserved = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.replayed = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def full(self) -> bool:
        return len(self._queue) + self._reserved >= self.size

    def reserve(self) -> bool:
        """Hold a place for a write that will come (a question answered while the database is down)."""
        if self.full:
            return False
        self._reserved += 1
        return True

    def put(self, what: str, write: Write, *, reserved: bool = False) -> bool:
        """Queue ``write``; False (logged) when the outbox is full and it had no reserved place."""
        if reserved:
            self._reserved = max(0, self._reserved - 1)
        elif self.full:
            self.dropped += 1
            log.error("outbox.full", what=what, size=self.size)
            return False
        self._queue.append(Pending(what, write))
        log.info("outbox.queued", what=what, pending=len(self._queue))
        self._ensure_running()
        self._wake.set()
        return True

    def release(self) -> None:
        """Give back a reserved place that will not be used."""
        self._reserved = max(0, self._reserved - 1)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="outbox")

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            await self.flush()
            if self._queue:
                await asyncio.sleep(self.interval)

    async def flush(self) -> int:
        """Replay what is queued while the database answers; returns how many writes were replayed."""
        done = 0
        while self._queue:
            try:
                await self.db.ping()
                await self._queue[0].write(self.db)
            except DatabaseUnavailable:
                return done
            except Exception:
                item = self._queue.popleft()
                self.dropped += 1
                log.exception("outbox.write_failed", what=item.what)
                continue
            self._queue.popleft()
            done += 1
            self.replayed += 1
        if done:
            log.info("outbox.replayed", writes=done)
        return done

    async def close(self) -> None:
        """One last replay, then stop; what cannot be written now is logged as lost."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.flush()
        if self._queue:
            log.error("outbox.lost_on_shutdown", writes=len(self._queue))

    def status(self) -> dict[str, int]:
        return {"pending": len(self._queue), "replayed": self.replayed, "dropped": self.dropped}
