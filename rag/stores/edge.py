"""The embedded default: Qdrant Edge (``qdrant-edge-py``), one shard on disk, in process.

Edge calls are synchronous (a query takes about a millisecond); they run in worker threads so the event loop
never waits on the disk. The shard synchronises its own segments, so searches run beside writes instead of
queueing behind them (an ingest's upserts, an optimize): writers take turns among themselves, and opening or
closing the shard waits until no search or write is running (``bench/edge_store.py`` measures it).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import qdrant_edge as qe
import structlog

from rag.access import ACCESS_FIELD, AccessScope
from rag.stores.common import DENSE, INDEXED_FIELDS, SPARSE, merge_hits, to_payload, vectors_by_key
from rag.types import Chunk, ScoredChunk, SparseVector

log = structlog.get_logger(__name__)
T = TypeVar("T")


def _filter(filters: dict[str, str] | None, access: AccessScope | None = None) -> qe.Filter:
    """Field matches, and the permission filter: public points, or restricted ones the scope may read."""
    must = [qe.FieldCondition(key=k, match=qe.MatchValue(v)) for k, v in (filters or {}).items()]
    should: list[Any] = [qe.IsEmptyCondition(ACCESS_FIELD)]
    if access is not None and access.principals:
        should.append(qe.FieldCondition(key=ACCESS_FIELD, match=qe.MatchAny(sorted(access.principals))))
    return qe.Filter(must=must or None, should=should)


def _doc_filter(doc_id: str) -> qe.Filter:
    return qe.Filter(must=[qe.FieldCondition(key="doc_id", match=qe.MatchValue(doc_id))])


def _sparse(vec: SparseVector) -> qe.SparseVector:
    return qe.SparseVector(indices=list(vec.indices), values=list(vec.values))


def _dense_of(point: Any) -> Any:
    vec = point.vector
    return vec.get(DENSE) if isinstance(vec, dict) else None


class EdgeStore:
    """``VectorStore`` on a Qdrant Edge shard at ``path`` (created on first use, reopened with ``load``)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._shard: Any = None
        self._write = threading.Lock()  # one writer at a time (upserts, deletes, optimize)
        self._state = threading.Condition()  # opening/closing vs. calls in flight
        self._busy = 0
        self._exclusive = False

    async def _call(self, fn: Callable[[], T], *, write: bool = False) -> T:
        """``fn`` in a worker thread; searches never wait for writes, writes wait for each other."""

        def run() -> T:
            with self._state:
                self._state.wait_for(lambda: not self._exclusive)
                self._busy += 1
            try:
                if not write:
                    return fn()
                with self._write:
                    return fn()
            finally:
                with self._state:
                    self._busy -= 1
                    self._state.notify_all()

        return await asyncio.to_thread(run)

    async def _alone(self, fn: Callable[[], T]) -> T:
        """``fn`` with nothing else running (opening and closing the shard)."""

        def run() -> T:
            with self._state:
                self._state.wait_for(lambda: not self._exclusive)
                self._exclusive = True
                self._state.wait_for(lambda: self._busy == 0)
            try:
                return fn()
            finally:
                with self._state:
                    self._exclusive = False
                    self._state.notify_all()

        return await asyncio.to_thread(run)

    def _open(self, dim: int) -> None:
        if self._shard is not None:
            return
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        if self.path.is_dir() and any(self.path.iterdir()):
            self._shard = qe.EdgeShard.load(str(self.path))
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self._shard = qe.EdgeShard.create(str(self.path), config)
            for name in INDEXED_FIELDS:
                self._shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        log.info("store.edge.open", path=str(self.path), points=self._count())

    async def ensure_collection(self, dim: int) -> None:
        await self._alone(lambda: self._open(dim))

    def _count(self) -> int:
        return int(self._shard.count(qe.CountRequest(exact=True)))

    async def upsert(
        self,
        chunks: Sequence[Chunk],
        dense: np.ndarray,
        sparse: Sequence[SparseVector],
        *,
        keys: Sequence[str | None] | None = None,
    ) -> None:
        points = [
            qe.Point(
                id=c.chunk_id,
                vector={DENSE: [float(x) for x in d], SPARSE: _sparse(s)},
                payload=to_payload(c, k),
            )
            for c, d, s, k in zip(chunks, dense, sparse, keys or [None] * len(chunks), strict=True)
        ]
        if points:
            await self._call(lambda: self._shard.update(qe.UpdateOperation.upsert_points(points)), write=True)

    async def delete_doc(self, doc_id: str) -> None:
        op = qe.UpdateOperation.delete_points_by_filter(_doc_filter(doc_id))
        await self._call(lambda: self._shard.update(op), write=True)

    async def stored_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Dense vectors of the points of ``doc_ids`` that carry an ``embed_key``, by that key."""
        if not doc_ids:
            return {}
        flt = qe.Filter(must=[qe.FieldCondition(key="doc_id", match=qe.MatchAny(list(doc_ids)))])

        def scroll() -> dict[str, np.ndarray]:
            out: dict[str, np.ndarray] = {}
            offset = None
            while True:
                req = qe.ScrollRequest(
                    offset=offset, limit=256, filter=flt, with_payload=["embed_key"], with_vector=[DENSE]
                )
                records, offset = self._shard.scroll(req)
                out.update(vectors_by_key((r.payload, _dense_of(r)) for r in records))
                if offset is None:
                    return out

        return await self._call(scroll)

    def _run(self, requests: list[qe.QueryRequest]) -> list[list[tuple[dict[str, Any], float]]]:
        results = self._shard.query_batch(qe.QueryBatchRequest(requests))
        return [[(dict(p.payload or {}), float(p.score), _dense_of(p)) for p in res] for res in results]

    async def hybrid_query(
        self,
        dense: np.ndarray,
        sparse: SparseVector,
        *,
        limit: int,
        candidates: int,
        filters: dict[str, str] | None = None,
        weights: tuple[float, float] | None = None,
        rrf_k: int = 60,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]:
        """Dense and BM25 prefetches fused with (weighted) RRF in one call; per-retriever scores attached.
        Only points ``access`` may read are searched (``rag.access``; ``None``: public points only)."""
        flt = _filter(filters, access)
        dq = qe.Query.Nearest([float(x) for x in dense], using=DENSE)
        sq = qe.Query.Nearest(_sparse(sparse), using=SPARSE)
        fused = qe.QueryRequest(
            limit=limit,
            prefetches=[
                qe.Prefetch(limit=candidates, query=dq, filter=flt),
                qe.Prefetch(limit=candidates, query=sq, filter=flt),
            ],
            query=qe.Fusion.Rrf(k=rrf_k, weights=list(weights) if weights else None),
            with_payload=True,
            with_vector=[DENSE],
        )
        singles = [
            qe.QueryRequest(limit=candidates, query=q, filter=flt, with_payload=["chunk_id"])
            for q in (dq, sq)
        ]
        f, d, s = await self._call(lambda: self._run([fused, *singles]))
        return merge_hits(f, d, s, dense)

    async def dense_query(
        self,
        dense: np.ndarray,
        *,
        limit: int,
        filters: dict[str, str] | None = None,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]:
        q = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest([float(x) for x in dense], using=DENSE),
            filter=_filter(filters, access),
            with_payload=True,
        )
        (hits,) = await self._call(lambda: self._run([q]))
        return merge_hits(hits, hits, [])

    async def sparse_query(
        self,
        sparse: SparseVector,
        *,
        limit: int,
        filters: dict[str, str] | None = None,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]:
        q = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(_sparse(sparse), using=SPARSE),
            filter=_filter(filters, access),
            with_payload=True,
        )
        (hits,) = await self._call(lambda: self._run([q]))
        return merge_hits(hits, [], hits)

    async def count(self) -> int:
        return await self._call(self._count) if self._shard is not None else 0

    async def optimize(self) -> None:
        """Merge segments and build indexes (after a large ingest)."""
        await self._call(lambda: self._shard.optimize(), write=True)

    async def close(self) -> None:
        if self._shard is not None:
            shard, self._shard = self._shard, None
            await self._alone(lambda: (shard.flush(), shard.close()))
