"""The retrieval cache over the real retriever of the sample core."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from bot.ingest_job import ingest_paths
from bot.retrieval_cache import CachedRetriever


async def test_identical_searches_share_one_result_and_ingest_clears_it(core, tmp_path):
    cached = core.extras["retriever"].inner  # inside the degraded-mode wrapper
    assert isinstance(cached, CachedRetriever)
    cached.clear()
    first, second, third = await asyncio.gather(
        cached.retrieve("helm rollback  revision", lang="en", limit=5),
        cached.retrieve("Helm rollback revision", lang="en", limit=5),
        cached.retrieve("helm rollback revision", lang="en", limit=5),
    )
    assert first is second is third and (cached.misses, cached.hits) == (1, 2)
    other = await cached.retrieve("helm rollback revision", lang="ru", limit=5)
    assert other is not first and cached.misses == 2

    kb = tmp_path / "kb"  # the same folder name, so the same source: only the new page is added
    shutil.copytree(core.settings.kb.paths[0], kb)
    (kb / "new.md").write_text(
        "---\ntitle: New page\n---\n\n## Rollback drills\n\nPractice helm rollback weekly.\n"
    )
    await ingest_paths(core, [kb])
    fresh = await cached.retrieve("helm rollback revision", lang="en", limit=5)
    assert fresh is not first and cached.misses == 3


async def test_expired_entries_are_searched_again(core):
    cached = CachedRetriever(core.extras["retriever"].inner.inner, size=8, ttl=0.0)
    a = await cached.retrieve("werf stack traces", limit=3)
    b = await cached.retrieve("werf stack traces", limit=3)
    assert a is not b and cached.misses == 2


async def test_a_failed_search_is_not_cached():
    class Flaky:
        calls = 0

        async def retrieve(self, query, *, lang=None, limit=None, access=None):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("store unavailable")
            return "ok"

    cached = CachedRetriever(Flaky(), size=4, ttl=60)
    with pytest.raises(RuntimeError):
        await cached.retrieve("q")
    assert await cached.retrieve("q") == "ok"
