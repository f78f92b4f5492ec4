"""Qdrant Edge: do searches wait behind writes? Search latency alone, then while another task upserts.

A shard of ``--points`` random 384-d points (dense + sparse); ``--searchers`` tasks run hybrid queries
through ``rag.stores.edge.EdgeStore`` for ``--seconds``, first alone, then beside a writer that upserts
batches of ``--batch`` points back to back (an ingest). Prints p50/p95/max search latency and the
searches completed in each phase. Run it on another checkout's code with ``PYTHONPATH=<checkout>`` to
compare (before: one lock serialised every call).

    .venv/bin/python -m bench.edge_store [--points 5000 --batch 256 --seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

import numpy as np

from rag.stores.edge import EdgeStore
from rag.types import Chunk, SparseVector


def chunks(start: int, n: int) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=f"00000000-0000-0000-0000-{start + i:012d}",
            doc_id=f"doc{(start + i) // 10}",
            ordinal=(start + i) % 10,
            text=f"passage {start + i}",
            title="t",
            breadcrumb=[],
            lang="en",
            url=None,
            path=f"p{(start + i) // 10}.md",
            source="bench",
        )
        for i in range(n)
    ]


def vectors(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[SparseVector]]:
    dense = rng.standard_normal((n, 384)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    sparse = [
        SparseVector(indices=list(rng.choice(5000, 20, replace=False)), values=[1.0] * 20) for _ in range(n)
    ]
    return dense, sparse


async def phase(
    store: EdgeStore, rng: np.random.Generator, args: argparse.Namespace, write: bool
) -> list[float]:
    stop = asyncio.Event()
    latencies: list[float] = []

    async def searcher() -> None:
        q, qs = vectors(rng, 1)
        while not stop.is_set():
            t0 = time.perf_counter()
            await store.hybrid_query(q[0], qs[0], limit=160, candidates=80)
            latencies.append(time.perf_counter() - t0)

    async def writer() -> None:
        start = args.points
        while not stop.is_set():
            d, s = vectors(rng, args.batch)
            await store.upsert(chunks(start, args.batch), d, s)
            start += args.batch

    tasks = [asyncio.create_task(searcher()) for _ in range(args.searchers)]
    if write:
        tasks.append(asyncio.create_task(writer()))
    await asyncio.sleep(args.seconds)
    stop.set()
    await asyncio.gather(*tasks)
    return latencies


def show(name: str, lat: list[float]) -> None:
    q = statistics.quantiles(lat, n=100, method="inclusive")
    print(f"{name:28} searches {len(lat):6}   p50 {q[49] * 1000:7.1f} ms   p95 {q[94] * 1000:7.1f} ms"
          f"   max {max(lat) * 1000:7.1f} ms")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--searchers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    rng = np.random.default_rng(15)
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(tmp)
        await store.ensure_collection(384)
        for start in range(0, args.points, 1000):
            d, s = vectors(rng, 1000)
            await store.upsert(chunks(start, 1000), d, s)
        print(f"Edge store: {args.points} points, {args.searchers} searchers, writer batches of {args.batch}")
        show("searches alone", await phase(store, rng, args, write=False))
        show("searches beside upserts", await phase(store, rng, args, write=True))
        await store.close()


if __name__ == "__main__":
    asyncio.run(main())
