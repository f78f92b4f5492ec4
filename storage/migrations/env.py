"""Alembic environment: runs migrations over the async engine (SQLite or PostgreSQL)."""

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata
# Replicas (or a migration Job and a starting pod) may upgrade at once: on PostgreSQL they queue on this
# advisory lock, and each reads the schema's revision only once it holds the lock, so one migrates and
# the others find the schema at head. SQLite has one writer anyway.
MIGRATION_LOCK = 0x6F706F72  # "opor"


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"))
    try:
        async with engine.connect() as connection:
            locking = connection.dialect.name == "postgresql"
            if locking:
                await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                await connection.commit()
            try:
                await connection.run_sync(_run)
                await connection.commit()
            finally:
                if locking:  # (closing the connection would release it too)
                    await connection.rollback()
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                    await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
