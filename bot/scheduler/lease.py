"""Leadership across replicas: exactly one process holds the lease and runs the scheduled jobs.

PostgreSQL: a session-level advisory lock held on a dedicated connection (not a pooled one, which would
carry the lock back into the pool). When the leader dies its connection closes and PostgreSQL releases the
lock at once; a follower retries every ``retry`` seconds, so a killed leader is replaced within about
``retry`` seconds (plus the TCP keepalive time when a host vanishes without closing its sockets). The
leader checks its connection every ``heartbeat`` seconds and steps down when the check fails.

SQLite means one process: ``LocalLease`` is always the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)
Listener = Callable[[bool], Awaitable[None] | None]


class Lease(Protocol):
    """Who leads. Components that must run in one replica only (a long-polling consumer, a websocket
    reader) check ``is_leader`` or subscribe to changes; ``wait_leader`` returns once this process leads."""

    @property
    def is_leader(self) -> bool: ...

    def subscribe(self, listener: Listener) -> None: ...

    async def wait_leader(self) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class _Base:
    def __init__(self) -> None:
        self._leader = False
        self._listeners: list[Listener] = []
        self._became_leader = asyncio.Event()

    @property
    def is_leader(self) -> bool:
        return self._leader

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(True)`` when this process becomes the leader, ``listener(False)`` when it stops."""
        self._listeners.append(listener)

    async def wait_leader(self) -> None:
        await self._became_leader.wait()

    async def _set(self, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        if not leader:
            self._became_leader = asyncio.Event()
        log.info("lease.changed", leader=leader)
        for listener in list(self._listeners):
            try:
                result = listener(leader)
                if result is not None:
                    await result
            except Exception:  # one listener must not stop the others hearing it
                log.exception("lease.listener_failed")
        if leader and self._leader:
            self._became_leader.set()  # after the listeners: a waiter sees a leader that is set up


class LocalLease(_Base):
    """One process (SQLite): always the leader once started."""

    async def start(self) -> None:
        await self._set(True)

    async def stop(self) -> None:
        await self._set(False)


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy) → ``postgresql://…`` (asyncpg)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgAdvisoryLease(_Base):
    """Leadership by ``pg_try_advisory_lock`` on a dedicated connection.

    Args:
        url: The database URL (SQLAlchemy form).
        name: Lock name; every replica of one deployment uses the same.
        retry: Seconds between a follower's attempts to take the lock.
        heartbeat: Seconds between the leader's checks of its connection.
        connect: Opens the dedicated connection (tests pass one they can cut).
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "opora.scheduler",
        retry: float = 5.0,
        heartbeat: float = 5.0,
        connect: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        super().__init__()
        self.key = lock_key(name)
        self.retry, self.heartbeat = retry, heartbeat
        self._dsn = asyncpg_dsn(url)
        self._connect = connect or self._default_connect
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def _default_connect(self) -> Any:
        import asyncpg

        settings = {"application_name": "opora-lease"}
        conn = await asyncpg.connect(self._dsn, timeout=10, server_settings=settings)
        # A vanished host (no FIN) is noticed by the server within ~idle + interval * count seconds.
        for setting, value in (("tcp_keepalives_idle", 10), ("tcp_keepalives_interval", 5)):
            with contextlib.suppress(Exception):  # not every server allows these (e.g. poolers)
                await conn.execute(f"SET {setting} = {value}")
        with contextlib.suppress(Exception):
            await conn.execute("SET tcp_keepalives_count = 3")
        return conn

    async def start(self) -> None:
        self._stopping.clear()
        await self._step()  # the first attempt before returning: a lone replica leads at once
        self._task = asyncio.create_task(self._loop(), name="scheduler-lease")

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            wait = self.heartbeat if self._leader else self.retry
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=wait)
            if not self._stopping.is_set():
                await self._step()

    async def _step(self) -> None:
        try:
            if self._conn is None or self._conn.is_closed():
                if self._leader:  # the session that held the lock is gone, and the lock with it
                    log.warning("lease.connection_lost", error="the lease connection closed")
                    await self._set(False)
                self._conn = await self._connect()
            if self._leader:
                await asyncio.wait_for(self._conn.fetchval("SELECT 1"), timeout=max(self.heartbeat, 1.0))
            else:
                got = await asyncio.wait_for(
                    self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key),
                    timeout=max(self.retry, 1.0),
                )
                await self._set(bool(got))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database or the network failed: not the leader any more
            log.warning("lease.connection_lost", error=f"{type(exc).__name__}: {exc}")
            await self._drop_connection()
            await self._set(False)

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.terminate()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._conn is not None and self._leader:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.fetchval("SELECT pg_advisory_unlock($1)", self.key), 5)
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 5)
            self._conn = None
        await self._set(False)


def lease_for(url: str, *, name: str, retry: float, heartbeat: float) -> Lease:
    """The lease that fits the database: an advisory lock on PostgreSQL, always-leader on SQLite."""
    if make_url(url).get_backend_name() == "postgresql":
        return PgAdvisoryLease(url, name=name, retry=retry, heartbeat=heartbeat)
    return LocalLease()
