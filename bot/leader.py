"""Work that must run in exactly one replica runs while this process holds the scheduler's lease.

Several replicas share one PostgreSQL. Some work must not run in all of them: Telegram long polling
(``getUpdates`` allows one consumer per bot), the Mattermost websocket (every consumer would see, and
answer, every post), the knowledge-base ingest at start. Such work is registered with
``Leader.lead(name, work)``: it runs while this process leads, is cancelled when it stops leading, and
starts again when it leads again.

Who leads is the scheduler's lease (``bot.scheduler.lease``: a PostgreSQL advisory lock on a dedicated
connection; a killed leader is replaced within about ``scheduler.lease_retry_seconds``), so scheduled jobs
and this work always sit in the same replica. With SQLite there is one process, and it always leads.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable

import structlog

from bot.scheduler.lease import Lease, LocalLease

log = structlog.get_logger(__name__)
Work = Callable[[], Awaitable[None]]


def replica_id() -> str:
    """This process's name in logs and tables: host (the pod name on Kubernetes) and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leader:
    """Runs registered work while ``lease`` leads (always, without a lease or with a ``LocalLease``).

    Args:
        lease: The scheduler's lease; ``None`` means a single process.
        start_lease: Start and stop the lease here (when the scheduler, its usual owner, is disabled).
    """

    def __init__(self, lease: Lease | None = None, *, start_lease: bool = False) -> None:
        self.lease = lease
        self.single = lease is None or isinstance(lease, LocalLease)
        self._start_lease = start_lease and not self.single
        self.replica = replica_id()
        self._works: dict[str, Work] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        if lease is not None and not self.single:
            lease.subscribe(self._on_change)

    @property
    def is_leader(self) -> bool:
        return self.single or (self.lease is not None and self.lease.is_leader)

    def lead(self, name: str, work: Work) -> None:
        """Run ``work()`` whenever this process leads (now, if it does); it is cancelled when it stops."""
        self._works[name] = work
        if self.is_leader:
            self._spawn(name, work)

    async def start(self) -> None:
        if self._start_lease and self.lease is not None:
            await self.lease.start()

    async def stop(self) -> None:
        """Stop the leader-only work (and the lease, when this object started it)."""
        await self._cancel_all()
        if self._start_lease and self.lease is not None:
            await self.lease.stop()

    def _spawn(self, name: str, work: Work) -> None:
        task = self._running.get(name)
        if task is not None and not task.done():
            return

        async def guarded() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:  # one leader-only job failing must not take the others down
                log.exception("leader.work_failed", work=name)

        self._running[name] = asyncio.create_task(guarded(), name=f"leader-work:{name}")

    async def _on_change(self, leading: bool) -> None:
        if leading:
            log.info("leader.works_started", replica=self.replica, works=sorted(self._works))
            for name, work in self._works.items():
                self._spawn(name, work)
        else:
            await self._cancel_all()
            log.warning("leader.works_stopped", replica=self.replica, works=sorted(self._works))

    async def _cancel_all(self) -> None:
        running, self._running = self._running, {}
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
