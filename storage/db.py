"""Database engine, sessions and migrations (SQLite by default, PostgreSQL by URL).

SQLite allows one writer at a time. Many connections writing at once fail with "database is locked" as soon
as one transaction that began by reading tries to write after another committed (SQLite cannot wait
there), so on SQLite every unit of work that may write (``session()``) goes through ONE writer connection,
taken in turn (an asyncio lock, first come first served) and opened with ``BEGIN IMMEDIATE``; read-only
work (``read()``) uses a pool of reader connections that WAL lets run beside the writer. The busy timeout
covers other processes (``opora ingest`` beside ``opora serve``).

A database that cannot be reached raises ``DatabaseUnavailable`` (a refused or dropped connection, a pool
timeout, a lock held past the busy timeout); for ``retry_interval`` seconds after that, units of work fail
at once instead of each waiting on the dead server, and ``ping()`` probes it again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

log = structlog.get_logger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


_UNREACHABLE = ("locked", "busy", "unable to open", "disk i/o", "connect", "closed", "terminat", "shut")


class DatabaseUnavailable(Exception):
    """The database cannot be reached now (down, restarting, or locked past the busy timeout)."""


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` means "the database is not reachable" rather than a bug or a bad statement."""
    if isinstance(error, exc.TimeoutError):
        return False  # no free pooled connection: overload, not an outage (see pool sizing)
    if isinstance(error, DatabaseUnavailable | OSError | TimeoutError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        if isinstance(error, exc.InterfaceError):
            return True  # the connection is gone
        message = str(error.orig or error).lower()
        if isinstance(error, exc.OperationalError) and any(m in message for m in _UNREACHABLE):
            return True
        orig = type(error.orig).__name__ if error.orig is not None else ""
        return orig in {
            "CannotConnectNowError",
            "ConnectionDoesNotExistError",
            "ConnectionFailureError",
            "AdminShutdownError",
            "CrashShutdownError",
            "TooManyConnectionsError",
            "InterfaceError",
        }
    return False


class Database:
    """One engine and session factory per process. Repositories take an ``AsyncSession``.

    Args:
        url: SQLAlchemy URL (``sqlite+aiosqlite:///path`` or ``postgresql+asyncpg://...``).
        pool_size / max_overflow / pool_timeout: PostgreSQL connection pool (see docs/operations.md).
        connect_timeout: seconds to open a PostgreSQL connection before giving up.
        busy_timeout: seconds SQLite waits for another process's write lock.
        retry_interval: seconds to fail fast after the database was found unreachable.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        max_overflow: int = 20,
        pool_timeout: float = 30.0,
        connect_timeout: float = 5.0,
        busy_timeout: float = 30.0,
        retry_interval: float = 1.0,
    ) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self.retry_interval = retry_interval
        self._down_until = 0.0
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            busy_ms = int(busy_timeout * 1000)
            # one writer connection; the lock in ``session()`` hands it out in turn
            self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0)
            # readers run side by side; the pool keeps as many open as the PostgreSQL pool would, so a
            # busy moment does not open (a thread, the file, four PRAGMAs) and close a connection per read
            self.reader: AsyncEngine = create_async_engine(
                url, echo=echo, pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout
            )
            _sqlite_setup(self.engine, busy_ms, immediate=True)
            _sqlite_setup(self.reader, busy_ms, immediate=False)
        else:
            self.engine = create_async_engine(
                url,
                echo=echo,
                pool_pre_ping=True,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                connect_args={"timeout": connect_timeout} if self.dialect == "postgresql" else {},
            )
            self.reader = self.engine
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(self.reader, expire_on_commit=False)

    @property
    def available(self) -> bool:
        """False while the database is taken as down (right after it failed)."""
        return time.monotonic() >= self._down_until

    def _writer_lock(self) -> asyncio.Lock | None:
        if self.dialect != "sqlite":
            return None
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:
            self._lock = (loop, asyncio.Lock())
        return self._lock[1]

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work that may write: commits on success, rolls back on error.

        Raises ``DatabaseUnavailable`` when the database cannot be reached.
        """
        lock = self._writer_lock()
        if lock is None:
            async with self._unit(self.sessions) as s:
                yield s
            return
        async with lock, self._unit(self.sessions) as s:
            yield s

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit of work; on SQLite it runs beside the writer instead of waiting for it."""
        async with self._unit(self.read_sessions) as s:
            yield s

    @asynccontextmanager
    async def _unit(self, factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
        if not self.available:
            raise DatabaseUnavailable("the database was unreachable a moment ago")
        try:
            async with factory() as session:
                try:
                    yield session
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
        except Exception as error:
            if isinstance(error, DatabaseUnavailable) or not is_unavailable(error):
                raise
            self.mark_down(error)
            raise DatabaseUnavailable(str(error).splitlines()[0][:200]) from error

    def mark_down(self, error: BaseException | None = None) -> None:
        """Fail fast for ``retry_interval`` seconds (called when the database was found unreachable)."""
        if self.available:
            log.warning(
                "db.unavailable",
                dialect=self.dialect,
                error=type(error).__name__ if error else None,
                detail=str(error).splitlines()[0][:200] if error else None,
            )
        self._down_until = time.monotonic() + self.retry_interval

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (run in a thread: Alembic is synchronous)."""
        await asyncio.to_thread(upgrade_to_head, self.url)
        log.info("db.migrated", dialect=self.dialect)

    async def revision(self) -> str | None:
        """The schema's current Alembic revision (``None`` on an empty database)."""
        from alembic.runtime.migration import MigrationContext

        async with self.engine.connect() as conn:
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())

    async def ping(self) -> None:
        """Probe the database (even while it is taken as down); raises ``DatabaseUnavailable``."""
        try:
            async with self.reader.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as error:
            if not is_unavailable(error):
                raise
            self.mark_down(error)
            raise DatabaseUnavailable(str(error).splitlines()[0][:200]) from error
        if not self.available:
            log.info("db.available", dialect=self.dialect)
        self._down_until = 0.0

    async def close(self) -> None:
        await self.engine.dispose()
        if self.reader is not self.engine:
            await self.reader.dispose()


def _sqlite_setup(engine: AsyncEngine, busy_ms: int, *, immediate: bool) -> None:
    """WAL, foreign keys and the busy timeout on every connection; the writer begins IMMEDIATE."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # transactions are begun by SQLAlchemy's "begin" event below, not implicitly by the driver
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across process crashes, fewer fsyncs
        cur.close()

    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade_to_head(url: str) -> None:
    command.upgrade(alembic_config(url), "head")
