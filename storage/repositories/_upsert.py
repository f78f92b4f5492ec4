"""Dialect-aware INSERT ... ON CONFLICT, the one place that knows SQLite from PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, table: Any) -> Any:
    """``insert(table)`` of the session's dialect, which has ``on_conflict_do_*``."""
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert(table) if name == "postgresql" else sqlite.insert(table)
