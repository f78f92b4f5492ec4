"""The shared ``CacheStore`` over the database table ``answer_cache`` (repositories in ``storage/``)."""

from __future__ import annotations

from datetime import UTC

from providers.cache import StoredAnswer
from storage.db import Database
from storage.repositories.cache import cache_delete, cache_get, cache_put


class SqlCacheStore:
    """Replicas sharing a database share answers."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> StoredAnswer | None:
        async with self.db.read() as session:  # a reader: never queues behind SQLite's one writer
            entry = await cache_get(session, key=key)
            if entry is None:
                return None
            expires = entry.expires_at if entry.expires_at.tzinfo else entry.expires_at.replace(tzinfo=UTC)
            return StoredAnswer(dict(entry.value), dict(entry.doc_versions or {}), entry.model, expires)

    async def put(self, key: str, answer: StoredAnswer) -> None:
        async with self.db.session() as session:
            await cache_put(
                session,
                key=key,
                value=answer.value,
                doc_versions=answer.doc_versions,
                model=answer.model,
                expires_at=answer.expires_at,
            )

    async def delete(self, key: str) -> None:
        async with self.db.session() as session:
            await cache_delete(session, key=key)
