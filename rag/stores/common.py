"""Payload mapping shared by both Qdrant stores."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from rag.types import Chunk, ScoredChunk

DENSE = "dense"
SPARSE = "bm25"
INDEXED_FIELDS = ("source", "lang", "path", "doc_id", "access")


def to_payload(chunk: Chunk, embed_key: str | None = None) -> dict[str, Any]:
    """The point's payload; ``embed_key`` (``rag.ingest.embed_key``) lets a re-ingest reuse the vector."""
    payload = {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "ordinal": chunk.ordinal,
        "text": chunk.text,
        "title": chunk.title,
        "breadcrumb": list(chunk.breadcrumb),
        "lang": chunk.lang,
        "url": chunk.url,
        "path": chunk.path,
        "source": chunk.source,
        "version": chunk.version,
        "kind": chunk.kind,
    }
    if embed_key:
        payload["embed_key"] = embed_key
    if chunk.access:
        payload["access"] = list(chunk.access)  # absent on public points (see rag.access)
    return payload


def from_payload(payload: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=str(payload["chunk_id"]),
        doc_id=str(payload["doc_id"]),
        ordinal=int(payload.get("ordinal", 0)),
        text=str(payload.get("text", "")),
        title=str(payload.get("title", "")),
        breadcrumb=list(payload.get("breadcrumb") or []),
        lang=payload.get("lang"),
        url=payload.get("url"),
        path=payload.get("path"),
        source=str(payload.get("source", "")),
        version=int(payload.get("version", 1)),
        kind=str(payload.get("kind") or "chunk"),
        access=list(payload.get("access") or []),
    )


def vectors_by_key(records: Iterable[tuple[dict[str, Any] | None, Any]]) -> dict[str, np.ndarray]:
    """``{embed_key: dense vector}`` of scrolled (payload, dense vector) pairs; points without a key are
    skipped (written before keys existed, or by hand)."""
    out: dict[str, np.ndarray] = {}
    for payload, vec in records:
        key = (payload or {}).get("embed_key")
        if key and vec is not None:
            out[str(key)] = np.asarray(vec, dtype=np.float32)
    return out


Hit = tuple[dict[str, Any], float, Any]  # payload, score, dense vector (or None)


def merge_hits(fused: list[Hit], dense: list[Hit], sparse: list[Hit], query: Any = None) -> list[ScoredChunk]:
    """Fused ranking with each chunk's dense and sparse scores attached.

    The dense score is the exact cosine when the fused hit carries its vector (every candidate gets one);
    otherwise the dense list's score. The sparse score is None for chunks outside the BM25 candidates.
    """
    d = {p["chunk_id"]: s for p, s, _ in dense}
    sp = {p["chunk_id"]: s for p, s, _ in sparse}
    exact: list[float | None] = [None] * len(fused)
    if query is not None:  # one product for every hit that carries its vector
        with_vec = [i for i, (_, _, vector) in enumerate(fused) if vector is not None]
        if with_vec:
            matrix = np.asarray([fused[i][2] for i in with_vec], dtype=np.float32)
            cosines = matrix @ np.asarray(query, dtype=np.float32)
            for i, c in zip(with_vec, cosines.tolist(), strict=True):
                exact[i] = c
    out: list[ScoredChunk] = []
    for (payload, score, _), cosine in zip(fused, exact, strict=True):
        cid = payload["chunk_id"]
        dense_score = cosine if cosine is not None else d.get(cid)
        out.append(
            ScoredChunk(
                chunk=from_payload(payload), score=score, dense_score=dense_score, sparse_score=sp.get(cid)
            )
        )
    return out
