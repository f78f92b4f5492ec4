"""Answers being generated. They belong to the server, not to a socket: a dropped socket does not cancel
one, the engine stores it, and the reconnected client reads it from history.

With several replicas the client may reconnect to another one. So a run is also a row in ``answer_runs``
(kept alive by a heartbeat while the answer is written, deleted when it is stored), and ``in_progress``
asks the database: any replica tells the client to keep polling history until the answer is there. A
replica that dies mid-answer stops its heartbeat, and its runs count as over after ``stale_after`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import structlog

from bot.leader import replica_id
from storage.db import Database
from storage.repositories import answer_runs

log = structlog.get_logger(__name__)


class Runs:
    def __init__(
        self,
        db: Database | None = None,
        *,
        beat_every: float = 5.0,
        stale_after: float = 20.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.beat_every = beat_every
        self.stale_after = stale_after
        self.clock = clock
        self.replica = replica_id()
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: Counter[str] = Counter()
        self._rows: set[str] = set()
        self._heart: asyncio.Task[None] | None = None

    async def start(self, session: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Record the run where every replica sees it, then run ``work`` to completion in the background."""
        run_id = uuid.uuid4().hex
        if self.db is not None:
            try:
                async with self.db.session() as s:
                    await answer_runs.start(
                        s, run_id=run_id, session_key=session, replica=self.replica, now=self.clock()
                    )
                self._rows.add(run_id)
                self._ensure_heartbeat()
            except Exception as exc:  # the answer matters more than the progress flag
                log.warning("webchat.run_unrecorded", error=type(exc).__name__)
        return self.spawn(session, work, run_id=run_id)

    def spawn(
        self, session: str, work: Coroutine[Any, Any, None], *, run_id: str | None = None
    ) -> asyncio.Task[None]:
        """Run ``work`` (an answer for conversation ``session``) to completion in the background."""
        self._active[session] += 1

        async def run() -> None:
            try:
                await work
            finally:
                self._active[session] -= 1
                if self._active[session] <= 0:
                    del self._active[session]
                if run_id is not None and run_id in self._rows:
                    await self._finish(run_id)

        task = asyncio.create_task(run(), name=f"webchat-answer:{session}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def in_progress(self, session: str) -> bool:
        """Whether an answer for ``session`` is being written here or by any other replica."""
        if self._active.get(session, 0) > 0:
            return True
        if self.db is None:
            return False
        async with self.db.session() as s:
            return await answer_runs.active(
                s, session_key=session, fresh_since=self.clock() - self.stale_after
            )

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace_s: float) -> None:
        """Let running answers finish (within ``grace_s`` seconds), then cancel the rest."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("webchat.answers_cancelled", count=len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        if self._heart is not None:
            self._heart.cancel()
            await asyncio.gather(self._heart, return_exceptions=True)
            self._heart = None

    async def _finish(self, run_id: str) -> None:
        self._rows.discard(run_id)
        assert self.db is not None
        try:
            async with self.db.session() as s:
                await answer_runs.finish(s, run_id=run_id)
        except Exception as exc:  # the row goes stale and stops counting
            log.warning("webchat.run_unfinished", error=type(exc).__name__)

    def _ensure_heartbeat(self) -> None:
        if self._heart is None or self._heart.done():
            self._heart = asyncio.create_task(self._beat(), name="webchat-runs-heartbeat")

    async def _beat(self) -> None:
        assert self.db is not None
        while True:
            await asyncio.sleep(self.beat_every)
            with contextlib.suppress(Exception):  # a missed beat is retried on the next one
                async with self.db.session() as s:
                    now = self.clock()
                    await answer_runs.beat(s, run_ids=sorted(self._rows), now=now)
                    await answer_runs.purge_stale(s, before=now - 10 * self.stale_after)
