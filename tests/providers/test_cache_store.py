"""The SQL ``CacheStore`` on SQLite: two replicas share answers; stale entries are not served."""

from __future__ import annotations

from pathlib import Path

from bot.cache_store import SqlCacheStore
from providers.cache import AnswerCache, CachedAnswer
from storage.db import Database


async def test_replicas_share_answers_through_the_database(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'cache.db'}")
    await db.migrate()
    first, second = AnswerCache(SqlCacheStore(db)), AnswerCache(SqlCacheStore(db))
    await first.put("k", CachedAnswer("Deploy [1]", "gigachat", "control", (1,), False, {"d1": 3}), model="m")
    hit = await second.get("k", {"d1": 3})
    assert hit is not None and hit.cited == (1,) and hit.provider == "gigachat"
    assert await AnswerCache(SqlCacheStore(db)).get("k", {"d1": 4}) is None
    assert await AnswerCache(SqlCacheStore(db)).get("k", {"d1": 3}) is None  # deleted when found stale
    await db.engine.dispose()
