from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from rag.sparse import document_vector, query_vector
from rag.stores.edge import EdgeStore
from rag.stores.qdrant_server import QdrantServerStore
from rag.types import Chunk

TEXTS = {
    "helm": ("helm/en/a.md", "en", "helm install a chart release"),
    "werf": ("werf/en/b.md", "en", "werf converge deploys the application"),
    "ru": ("werf/ru/b.md", "ru", "werf cleanup удаляет старые образы из registry"),
}


def _chunks() -> list[Chunk]:
    return [
        Chunk(
            chunk_id=f"00000000-0000-0000-0000-00000000000{i}",
            doc_id=key,
            ordinal=0,
            text=text,
            title=key,
            breadcrumb=[],
            lang=lang,
            url=None,
            path=path,
            source="folder:kb",
        )
        for i, (key, (path, lang, text)) in enumerate(TEXTS.items())
    ]


def _dense(n: int) -> np.ndarray:
    vecs = np.eye(n, 8, dtype=np.float32) + 0.1
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


@pytest.fixture(params=["edge", "qdrant"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[EdgeStore | QdrantServerStore]:
    s = EdgeStore(tmp_path / "index") if request.param == "edge" else QdrantServerStore(url=":memory:")
    await s.ensure_collection(8)
    chunks = _chunks()
    await s.upsert(chunks, _dense(len(chunks)), [document_vector(c.text) for c in chunks])
    yield s
    await s.close()


async def test_hybrid_dense_sparse_and_filters(store: EdgeStore | QdrantServerStore) -> None:
    assert await store.count() == 3
    dense = _dense(3)[1]
    hits = await store.hybrid_query(dense, query_vector("werf converge"), limit=3, candidates=10)
    assert hits[0].chunk.doc_id == "werf"
    assert hits[0].dense_score == pytest.approx(1.0, abs=1e-4) and hits[0].sparse_score
    assert {h.chunk.doc_id for h in hits} == {"helm", "werf", "ru"}
    assert all(h.dense_score is not None for h in hits)  # exact cosine for every candidate
    only_ru = await store.hybrid_query(
        dense, query_vector("werf"), limit=3, candidates=10, filters={"lang": "ru"}
    )
    assert [h.chunk.doc_id for h in only_ru] == ["ru"]
    assert [h.chunk.doc_id for h in await store.sparse_query(query_vector("образы"), limit=3)] == ["ru"]
    assert (await store.dense_query(_dense(3)[0], limit=1))[0].chunk.path == "helm/en/a.md"


async def test_delete_doc(store: EdgeStore | QdrantServerStore) -> None:
    await store.delete_doc("werf")
    assert await store.count() == 2
    hits = await store.sparse_query(query_vector("converge"), limit=3)
    assert all(h.chunk.doc_id != "werf" for h in hits)


async def test_stored_vectors_come_back_by_key(store: EdgeStore | QdrantServerStore) -> None:
    assert await store.stored_vectors(["werf"]) == {}  # written without keys: nothing to reuse
    chunks = _chunks()[:2]
    dense = _dense(3)[1:]
    await store.upsert(chunks, dense, [document_vector(c.text) for c in chunks], keys=["k-helm", None])
    got = await store.stored_vectors(["helm", "werf", "missing"])
    assert list(got) == ["k-helm"] and np.allclose(got["k-helm"], dense[0], atol=1e-5)
    assert await store.stored_vectors([]) == {}


async def test_edge_reopens_from_disk(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "index")
    await store.ensure_collection(8)
    chunks = _chunks()
    await store.upsert(chunks, _dense(3), [document_vector(c.text) for c in chunks])
    await store.close()
    again = EdgeStore(tmp_path / "index")
    await again.ensure_collection(8)
    assert await again.count() == 3
    assert (await again.sparse_query(query_vector("helm"), limit=1))[0].chunk.doc_id == "helm"
    await again.close()
