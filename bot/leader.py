"""Leadership among replicas: work that must run in exactly one process runs in the leader.

Several replicas share one PostgreSQL. Some work must not run in all of them: Telegram long polling
(``getUpdates`` allows one consumer per bot), the Mattermost websocket (every consumer would see every
post), the knowledge-base ingest at start. Such work is registered with ``Leader.lead(name, work)``: it
runs while this process is the leader, is cancelled when it stops being one, and starts again when it is
elected again.

The leader holds a PostgreSQL session advisory lock on a dedicated connection (not one of the pool's).
A killed leader's connection closes and PostgreSQL releases the lock at once; a leader cut off from the
database is dropped by the server's TCP keepalive (about ``keepalive`` seconds) while it notices the
failed health check itself within ``check_interval`` + ``check_timeout`` and stops its work first. The
others try the lock every ``retry_interval`` seconds, so a new leader takes over within about that bound.

With SQLite there is one process, and it is always the leader (``Leader.single()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)
Work = Callable[[], Awaitable[None]]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def replica_id() -> str:
    """This process's name in logs and tables: host (the pod name on Kubernetes) and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy ``postgresql+asyncpg://`` URL as a plain libpq DSN for ``asyncpg.connect``."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Leader:
    """Leader election over a PostgreSQL advisory lock (or a single process that always leads)."""

    def __init__(
        self,
        dsn: str | None,
        *,
        name: str = "opora-leader",
        retry_interval: float = 5.0,
        check_interval: float = 5.0,
        check_timeout: float = 5.0,
        keepalive: int = 10,
    ) -> None:
        self.dsn = dsn
        self.name = name
        self.key = lock_key(name)
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self.keepalive = keepalive
        self.replica = replica_id()
        self._leading = asyncio.Event()
        self._works: dict[str, Work] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._stopping = False
        self.elections = 0  # times this process became the leader (logs, tests)
        if dsn is None:  # the only process leads from the start, no election needed
            self._leading.set()
            self.elections = 1

    @classmethod
    def single(cls) -> Leader:
        """The one process there is (SQLite): always the leader."""
        return cls(None)

    @classmethod
    def for_database(cls, url: str, **kwargs: Any) -> Leader:
        backend = make_url(url).get_backend_name()
        return cls(asyncpg_dsn(url), **kwargs) if backend == "postgresql" else cls.single()

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    async def wait_leading(self) -> None:
        await self._leading.wait()

    async def start(self) -> None:
        """Become the leader now if nobody is; keep trying in the background otherwise."""
        if self.dsn is None:
            return
        await self._try_once()
        self._loop = asyncio.create_task(self._run(), name=f"leader:{self.name}")

    async def stop(self) -> None:
        """Stop the leader-only work and give the lock up (another replica takes over)."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.gather(self._loop, return_exceptions=True)
        await self._deposed(reason="stopping")
        await self._disconnect()

    def lead(self, name: str, work: Work) -> None:
        """Run ``work()`` whenever this process leads (now, if it does); it is cancelled when it stops."""
        self._works[name] = work
        if self.is_leader:
            self._spawn(name, work)

    def _spawn(self, name: str, work: Work) -> None:
        async def guarded() -> None:
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception:  # one leader-only job failing must not take leadership down
                log.exception("leader.work_failed", work=name)

        self._running[name] = asyncio.create_task(guarded(), name=f"leader-work:{name}")

    def _elected(self) -> None:
        if self.is_leader:
            return
        self._leading.set()
        self.elections += 1
        log.info("leader.elected", lock=self.name, replica=self.replica, works=sorted(self._works))
        for name, work in self._works.items():
            self._spawn(name, work)

    async def _deposed(self, *, reason: str) -> None:
        if not self.is_leader:
            return
        self._leading.clear()
        running, self._running = self._running, {}
        for task in running.values():
            task.cancel()
        await asyncio.gather(*running.values(), return_exceptions=True)
        log.warning("leader.deposed", lock=self.name, replica=self.replica, reason=reason)

    async def _connect(self) -> Any:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            keepalive = str(self.keepalive)
            self._conn = await asyncpg.connect(
                self.dsn,
                timeout=self.check_timeout,
                server_settings={
                    "application_name": f"opora-leader {self.replica}"[:63],
                    # the server drops a vanished leader's session (and its lock) after ~3 keepalives
                    "tcp_keepalives_idle": keepalive,
                    "tcp_keepalives_interval": keepalive,
                    "tcp_keepalives_count": "3",
                },
            )
        return self._conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=self.check_timeout)

    async def _try_once(self) -> None:
        try:
            conn = await self._connect()
            async with asyncio.timeout(self.check_timeout):
                if self.is_leader:
                    await conn.fetchval("SELECT 1")  # still connected, so still holding the lock
                elif await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key):
                    self._elected()
        except Exception as exc:  # the database is away: whoever led cannot be sure any more
            log.warning("leader.check_failed", lock=self.name, error=type(exc).__name__)
            await self._deposed(reason="database unreachable")
            await self._disconnect()

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.check_interval if self.is_leader else self.retry_interval)
            await self._try_once()
