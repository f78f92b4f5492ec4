"""A Qdrant server or cluster by URL through ``qdrant-client``'s ``AsyncQdrantClient``.

``url=":memory:"`` (or a local ``path``) selects qdrant-client's local mode, which speaks the same API and
is what the tests use.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import structlog
from qdrant_client import AsyncQdrantClient, models

from rag.access import ACCESS_FIELD, AccessScope
from rag.stores.common import DENSE, INDEXED_FIELDS, SPARSE, Hit, merge_hits, to_payload, vectors_by_key
from rag.types import Chunk, ScoredChunk, SparseVector

log = structlog.get_logger(__name__)


def _filter(filters: dict[str, str] | None, access: AccessScope | None = None) -> models.Filter:
    """Field matches, and the permission filter: public points, or restricted ones the scope may read."""
    must: list[Any] = [
        models.FieldCondition(key=k, match=models.MatchValue(value=v)) for k, v in (filters or {}).items()
    ]
    should: list[Any] = [models.IsEmptyCondition(is_empty=models.PayloadField(key=ACCESS_FIELD))]
    if access is not None and access.principals:
        should.append(
            models.FieldCondition(key=ACCESS_FIELD, match=models.MatchAny(any=sorted(access.principals)))
        )
    return models.Filter(must=must or None, should=should)


def _sparse(vec: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=list(vec.indices), values=list(vec.values))


def _pairs(points: list[models.ScoredPoint]) -> list[Hit]:
    out: list[Hit] = []
    for p in points:
        vec = p.vector.get(DENSE) if isinstance(p.vector, dict) else None
        out.append((dict(p.payload or {}), float(p.score), vec))
    return out


@dataclass(frozen=True, slots=True)
class CollectionLayout:
    """How a new collection is spread over a Qdrant cluster (``vector_store.*`` settings).

    Qdrant fixes ``shards`` at creation; the replication factor can be raised later through Qdrant's own
    API. Local mode accepts and ignores all of them.
    """

    shards: int = 1
    replication_factor: int = 1
    write_consistency_factor: int = 1
    on_disk_payload: bool = True


class QdrantServerStore:
    """``VectorStore`` on one collection of a Qdrant server (or qdrant-client local mode)."""

    def __init__(
        self,
        *,
        url: str | None = None,
        path: Path | None = None,
        api_key: str | None = None,
        collection: str = "opora",
        timeout: float = 10.0,
        layout: CollectionLayout | None = None,
    ) -> None:
        if url == ":memory:":
            self._client = AsyncQdrantClient(location=":memory:")
        elif url:
            self._client = AsyncQdrantClient(url=url, api_key=api_key, timeout=int(timeout))
        else:
            self._client = AsyncQdrantClient(path=str(path))
        self.collection = collection
        self.layout = layout or CollectionLayout()
        self.local = not url or url == ":memory:"  # local mode has no cluster: the layout does not apply

    async def ensure_collection(self, dim: int) -> None:
        if await self._client.collection_exists(self.collection):
            if not self.local:
                await self._check_layout()
            return
        try:
            await self._client.create_collection(
                self.collection,
                vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
                shard_number=self.layout.shards,
                replication_factor=self.layout.replication_factor,
                write_consistency_factor=self.layout.write_consistency_factor,
                on_disk_payload=self.layout.on_disk_payload,
            )
        except Exception:
            # replicas starting together race to create it: losing the race is fine
            if not await self._client.collection_exists(self.collection):
                raise
            log.info("store.qdrant.created_by_another_replica", collection=self.collection)
            return
        for name in INDEXED_FIELDS:
            with warnings.catch_warnings():  # local mode ignores payload indexes and says so
                warnings.simplefilter("ignore", UserWarning)
                await self._client.create_payload_index(
                    self.collection, field_name=name, field_schema=models.PayloadSchemaType.KEYWORD
                )
        log.info("store.qdrant.created", collection=self.collection, dim=dim, layout=str(self.layout))

    async def layout_of_collection(self) -> CollectionLayout:
        """The layout the existing collection was created with (local mode reports the defaults)."""
        params = (await self._client.get_collection(self.collection)).config.params
        return CollectionLayout(
            shards=params.shard_number or 1,
            replication_factor=params.replication_factor or 1,
            write_consistency_factor=params.write_consistency_factor or 1,
            on_disk_payload=bool(params.on_disk_payload),
        )

    async def _check_layout(self) -> None:
        try:
            actual = await self.layout_of_collection()
        except Exception:  # the check only informs
            return
        if actual != self.layout:
            log.warning(
                "store.qdrant.layout_differs",
                collection=self.collection,
                configured=str(self.layout),
                actual=str(actual),
                hint="shards are fixed at creation; see docs/deployment.md",
            )

    async def upsert(
        self,
        chunks: Sequence[Chunk],
        dense: np.ndarray,
        sparse: Sequence[SparseVector],
        *,
        keys: Sequence[str | None] | None = None,
    ) -> None:
        points = [
            models.PointStruct(
                id=c.chunk_id,
                vector={DENSE: [float(x) for x in d], SPARSE: _sparse(s)},
                payload=to_payload(c, k),
            )
            for c, d, s, k in zip(chunks, dense, sparse, keys or [None] * len(chunks), strict=True)
        ]
        if points:
            await self._client.upsert(self.collection, points=points, wait=True)

    async def delete_doc(self, doc_id: str) -> None:
        flt = models.Filter(must=[models.FieldCondition(key="doc_id", match=models.MatchValue(value=doc_id))])
        await self._client.delete(
            self.collection, points_selector=models.FilterSelector(filter=flt), wait=True
        )

    async def stored_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Dense vectors of the points of ``doc_ids`` that carry an ``embed_key``, by that key."""
        if not doc_ids:
            return {}
        flt = models.Filter(
            must=[models.FieldCondition(key="doc_id", match=models.MatchAny(any=list(doc_ids)))]
        )
        out: dict[str, np.ndarray] = {}
        offset = None
        while True:
            records, offset = await self._client.scroll(
                self.collection,
                scroll_filter=flt,
                limit=256,
                offset=offset,
                with_payload=["embed_key"],
                with_vectors=[DENSE],
            )
            out.update(
                vectors_by_key(
                    (r.payload, r.vector.get(DENSE) if isinstance(r.vector, dict) else None) for r in records
                )
            )
            if offset is None:
                return out

    async def _batch(self, requests: list[models.QueryRequest]) -> list[list[Hit]]:
        responses = await self._client.query_batch_points(self.collection, requests=requests)
        return [_pairs(r.points) for r in responses]

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
        """Dense and BM25 prefetches fused with RRF in one request; per-retriever scores attached.

        qdrant-client's RRF takes no weights, so ``weights``/``rrf_k`` apply only where the server
        supports parametrised RRF; the reranker downstream sees the per-retriever scores either way.
        """
        flt = _filter(filters, access)  # rag.access: None searches public points only
        dv, sv = [float(x) for x in dense], _sparse(sparse)
        fused = models.QueryRequest(
            prefetch=[
                models.Prefetch(query=dv, using=DENSE, limit=candidates, filter=flt),
                models.Prefetch(query=sv, using=SPARSE, limit=candidates, filter=flt),
            ],
            query=models.FusionQuery(fusion=models.Fusion.RRF),
            limit=limit,
            with_payload=True,
            with_vector=[DENSE],
        )
        singles = [
            models.QueryRequest(query=q, using=u, limit=candidates, filter=flt, with_payload=["chunk_id"])
            for q, u in ((dv, DENSE), (sv, SPARSE))
        ]
        f, d, s = await self._batch([fused, *singles])
        return merge_hits(f, d, s, dense)

    async def dense_query(
        self,
        dense: np.ndarray,
        *,
        limit: int,
        filters: dict[str, str] | None = None,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]:
        q = models.QueryRequest(
            query=[float(x) for x in dense],
            using=DENSE,
            limit=limit,
            filter=_filter(filters, access),
            with_payload=True,
        )
        (hits,) = await self._batch([q])
        return merge_hits(hits, hits, [])

    async def sparse_query(
        self,
        sparse: SparseVector,
        *,
        limit: int,
        filters: dict[str, str] | None = None,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]:
        flt = _filter(filters, access)
        sv = _sparse(sparse)
        q = models.QueryRequest(query=sv, using=SPARSE, limit=limit, filter=flt, with_payload=True)
        (hits,) = await self._batch([q])
        return merge_hits(hits, [], hits)

    async def count(self) -> int:
        if not await self._client.collection_exists(self.collection):
            return 0
        return (await self._client.count(self.collection, exact=True)).count

    async def close(self) -> None:
        await self._client.close()
