from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.chunking import chunk_document
from rag.ingest import Ingestor, IngestProgress, embed_key
from rag.loaders import FolderLoader
from rag.sparse import query_vector
from rag.stores.edge import EdgeStore
from tests.rag.conftest import HashEmbedder, InMemoryCatalog


async def _ingest(kb: Path, catalog: InMemoryCatalog, store: EdgeStore, embedder: HashEmbedder, **kw: object):
    progress: list[IngestProgress] = []
    ingestor = Ingestor(catalog, embedder, store, group_chunks=8, on_progress=progress.append, **kw)  # type: ignore[arg-type]
    stats = await ingestor.run(FolderLoader(kb, source="folder:kb"))
    return stats, progress


async def _paths(store: EdgeStore, text: str) -> set[str]:
    return {h.chunk.path or "" for h in await store.sparse_query(query_vector(text), limit=50)}


async def test_add_then_second_run_embeds_nothing(
    small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path
) -> None:
    store, emb = EdgeStore(tmp_path / "idx"), HashEmbedder()
    stats, progress = await _ingest(small_kb, catalog, store, emb)
    assert (stats.added, stats.changed, stats.deleted) == (
        4,
        0,
        0,
    ) and stats.chunks == await store.count() > 0
    last = progress[-1]
    assert (last.docs_done, last.docs_total, last.chunks_done) == (
        4,
        4,
        last.chunks_total,
    ) and last.percent == 100
    assert [p.chunks_done for p in progress] == sorted(p.chunks_done for p in progress)
    embedded = len(emb.embedded)
    stats2, _ = await _ingest(small_kb, catalog, store, emb)
    assert (stats2.unchanged, stats2.added, stats2.chunks) == (4, 0, 0)
    assert len(emb.embedded) == embedded  # nothing re-embedded
    assert catalog.runs[2]["stats"]["unchanged"] == 4
    await store.close()


async def test_change_and_delete(small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path) -> None:
    store, emb = EdgeStore(tmp_path / "idx"), HashEmbedder()
    await _ingest(small_kb, catalog, store, emb)
    page = small_kb / "helm/en/faq/uninstalling.md"
    page.write_text(page.read_text() + "\n\n## Zebracorn\n\nThe zebracorn section is new.\n")
    (small_kb / "helm/en/intro/using_helm.md").unlink()
    before = await store.count()
    stats, _ = await _ingest(small_kb, catalog, store, emb)
    assert (stats.changed, stats.deleted, stats.unchanged) == (1, 1, 2)
    assert await _paths(store, "zebracorn") == {"helm/en/faq/uninstalling.md"}
    assert "helm/en/intro/using_helm.md" not in await _paths(store, "helm chart install release")
    assert await store.count() < before
    state = (await catalog.states("folder:kb"))["helm/en/faq/uninstalling.md"]
    assert state.version == 2
    await store.close()


async def test_an_edited_page_reembeds_only_its_changed_sections(
    small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path
) -> None:
    store, emb = EdgeStore(tmp_path / "idx"), HashEmbedder()
    await _ingest(small_kb, catalog, store, emb)
    page = small_kb / "helm/en/intro/using_helm.md"
    text = page.read_text()
    cut = text.index("\n## ", len(text) // 2)  # a section in the second half of a long page
    page.write_text(text[:cut] + "\n\nA new zebracorn paragraph.\n" + text[cut:])
    emb.embedded.clear()
    stats, _ = await _ingest(small_kb, catalog, store, emb)
    assert (stats.changed, stats.unchanged) == (1, 3)
    assert 0 < len(emb.embedded) <= 3 and stats.reused == stats.chunks - len(emb.embedded) > 10
    assert any("zebracorn" in t for t in emb.embedded)
    assert await _paths(store, "zebracorn") == {"helm/en/intro/using_helm.md"}
    # every point of the page holds the vector of its own current text, reused or new
    doc_id = (await catalog.states("folder:kb"))["helm/en/intro/using_helm.md"].doc_id
    stored = await store.stored_vectors([doc_id])
    docs = [d async for d in FolderLoader(small_kb, source="folder:kb").load()]
    doc = next(d for d in docs if d.path == "helm/en/intro/using_helm.md")
    texts = [c.index_text() for c in chunk_document(doc, doc_id)]
    assert len(stored) >= len(texts)
    for t in texts:
        assert np.allclose(stored[embed_key(emb.name, t)], emb._vec(t))
    await store.close()


async def test_a_comment_only_edit_reindexes_nothing(
    small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path
) -> None:
    """The content hash covers what is indexed (the loader's output), not the file's bytes."""
    store, emb = EdgeStore(tmp_path / "idx"), HashEmbedder()
    await _ingest(small_kb, catalog, store, emb)
    page = small_kb / "helm/en/faq/uninstalling.md"
    page.write_text(page.read_text() + "\n<!-- a comment only -->\n")
    stats, _ = await _ingest(small_kb, catalog, store, emb)
    assert (stats.changed, stats.unchanged, stats.chunks) == (0, 4, 0)  # a comment is not indexed
    await store.close()


async def test_crash_midway_then_next_run_finishes(
    small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path
) -> None:
    store = EdgeStore(tmp_path / "idx")
    with pytest.raises(RuntimeError, match="crashed"):
        await _ingest(small_kb, catalog, store, HashEmbedder(fail_after_batches=1))
    assert catalog.runs[1]["error"] and "crashed" in catalog.runs[1]["error"]
    indexed = [s for s in (await catalog.states("folder:kb")).values() if s.content_hash]
    assert 0 < len(indexed) < 4  # the first group is indexed and marked, the rest is not
    emb = HashEmbedder()
    stats, _ = await _ingest(small_kb, catalog, store, emb)
    assert stats.unchanged == len(indexed) and stats.changed + stats.added == 4 - len(indexed)
    full = EdgeStore(tmp_path / "fresh")
    await _ingest(small_kb, InMemoryCatalog(), full, HashEmbedder())
    assert await store.count() == await full.count()  # no duplicate or missing chunks after the crash
    stats3, _ = await _ingest(small_kb, catalog, store, emb)
    assert stats3.chunks == 0
    await store.close()
    await full.close()


async def test_new_file_added(small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path) -> None:
    store, emb = EdgeStore(tmp_path / "idx"), HashEmbedder()
    await _ingest(small_kb, catalog, store, emb)
    shutil.copy(small_kb / "helm/en/faq/uninstalling.md", small_kb / "helm/en/faq/copy.md")
    stats, _ = await _ingest(small_kb, catalog, store, emb)
    assert (stats.added, stats.unchanged) == (1, 4)
    await store.close()


async def _kinds(store: EdgeStore, text: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for h in await store.sparse_query(query_vector(text), limit=200):
        out.setdefault(h.chunk.kind, set()).add(h.chunk.path or "")
    return out


async def test_one_card_per_page_deleted_with_its_page(
    small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path
) -> None:
    store, emb = EdgeStore(tmp_path / "idx"), HashEmbedder()
    await _ingest(small_kb, catalog, store, emb)
    cards = (await _kinds(store, "helm werf uninstall install"))["card"]
    assert "helm/en/faq/uninstalling.md" in cards
    (small_kb / "helm/en/faq/uninstalling.md").unlink()
    await _ingest(small_kb, catalog, store, emb)
    assert "helm/en/faq/uninstalling.md" not in (await _kinds(store, "helm werf uninstall install"))["card"]
    await store.close()


async def test_cards_can_be_switched_off(small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path) -> None:
    store, emb = EdgeStore(tmp_path / "idx"), HashEmbedder()
    await _ingest(small_kb, catalog, store, emb, cards=False)
    assert "card" not in await _kinds(store, "helm werf uninstall install")
    await store.close()


async def test_a_new_embedder_reembeds_everything_once_and_says_so(
    small_kb: Path, catalog: InMemoryCatalog, tmp_path: Path
) -> None:
    from structlog.testing import capture_logs

    class NewEmbedder(HashEmbedder):
        name = "hash-test-v2"

    store, meta = EdgeStore(tmp_path / "idx"), tmp_path / "meta"
    await _ingest(small_kb, catalog, store, HashEmbedder(), lexicon_dir=meta)
    assert (meta / "embedder.txt").read_text().strip() == "hash-test"
    new = NewEmbedder()
    with capture_logs() as logs:
        stats, _ = await _ingest(small_kb, catalog, store, new, lexicon_dir=meta)
    assert stats.changed == 4 and stats.reused == 0 and len(new.embedded) == stats.chunks  # all of it
    [event] = [e for e in logs if e["event"] == "ingest.reembed"]
    assert (event["previous"], event["embedder"], event["documents"]) == ("hash-test", "hash-test-v2", 4)
    with capture_logs() as logs:
        again, _ = await _ingest(small_kb, catalog, store, new, lexicon_dir=meta)
    assert again.unchanged == 4 and not [e for e in logs if e["event"] == "ingest.reembed"]  # only once
    (meta / "embedder.txt").unlink()  # an index written before the marker existed
    with capture_logs() as logs:
        await _ingest(small_kb, catalog, store, HashEmbedder(), lexicon_dir=meta)
    [event] = [e for e in logs if e["event"] == "ingest.reembed"]
    assert event["previous"].startswith("not recorded")
    await store.close()
