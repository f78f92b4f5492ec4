"""Incremental, idempotent, crash-consistent ingest of one source into the vector store.

Order (see ``DocumentCatalog``): register → delete the doc's old chunks and upsert the new ones →
``mark_indexed``. Unchanged documents (same content hash, same indexing fingerprint) are skipped; removed
ones are deleted from the store, then marked deleted. Chunks of many documents are embedded together so
the embedder's workers stay busy.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import structlog

from rag.chunking import ChunkingConfig, chunk_document, document_card
from rag.lexicon import learn, lexicon_file
from rag.sparse import document_vector
from rag.types import Chunk, DocumentCatalog, DocumentState, Embedder, Loader, SourceDocument, VectorStore

log = structlog.get_logger(__name__)
EMBEDDER_MARKER = "embedder.txt"  # beside the index: the embedder its vectors come from
CHUNKER_VERSION = "chunker-3"  # 3: a card point per page (title + outline) for ranking
Pending = tuple[str, str, list[Chunk]]  # doc id, content hash to mark, its chunks


def embed_key(model: str, text: str) -> str:
    """Which vector a point holds: the embedding model and the exact text it embedded."""
    return hashlib.sha256(f"{model}\x1f{text}".encode()).hexdigest()[:32]


@dataclass(slots=True)
class IngestProgress:
    docs_done: int
    docs_total: int
    chunks_done: int
    chunks_total: int

    @property
    def percent(self) -> int:
        return int(100 * self.docs_done / self.docs_total) if self.docs_total else 100


@dataclass(slots=True)
class IngestStats:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks: int = 0  # chunks written in this run
    reused: int = 0  # of those, chunks whose vector was already in the store (unchanged sections)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) for k, v in asdict(self).items()}


class Ingestor:
    """Brings the index of one source up to date with what its loader yields now.

    Args:
        catalog: The ingest bookkeeping (documents and runs).
        embedder: Dense embedder; its ``name`` is part of the fingerprint, so a new model re-embeds all.
        store: The vector store (its collection is created on first use).
        chunking: Chunk sizes.
        group_chunks: Chunks embedded together (across documents) before they are written.
        cards: Index a card per page (title + heading outline + first paragraph) as ranking evidence.
        on_progress: Called after every written group and at the start and end.
        lexicon_dir: Where the source's ru→en lexicon (``rag.lexicon``) is kept; it is learned again from
            all of the source's documents whenever any of them was added, changed or deleted.
    """

    def __init__(
        self,
        catalog: DocumentCatalog,
        embedder: Embedder,
        store: VectorStore,
        *,
        chunking: ChunkingConfig | None = None,
        group_chunks: int = 64,
        cards: bool = True,
        on_progress: Callable[[IngestProgress], None] | None = None,
        lexicon_dir: Path | None = None,
    ) -> None:
        self.lexicon_dir = lexicon_dir
        self.catalog, self.embedder, self.store = catalog, embedder, store
        self.chunking = chunking or ChunkingConfig()
        self.group_chunks = group_chunks
        self.cards = cards
        self.on_progress = on_progress
        self.fingerprint = f"{embedder.name}|{CHUNKER_VERSION}|{self.chunking}"

    def _effective_hash(self, doc: SourceDocument) -> str:
        """A hash of what gets indexed: the loader's output (not the raw bytes, so a loader fix reaches
        the pages it changes and a comment-only edit re-indexes nothing) and the indexing fingerprint."""
        parts = [doc.title, doc.kind, doc.lang or "", doc.url or "", doc.path or ""]
        parts += [doc.text, self.fingerprint]
        if doc.meta.get("access"):  # a restriction change re-indexes (the vectors are reused)
            parts.append("access:" + ",".join(sorted(doc.meta["access"])))
        indexed = "\x1f".join(parts)
        return hashlib.sha256(indexed.encode()).hexdigest()

    async def run(self, loader: Loader, *, complete: bool = True) -> IngestStats:
        """Ingest ``loader``'s source; safe to re-run after a crash (redoes what was not marked indexed).

        ``complete=False``: the loader yields only some of the source's documents (an incremental sync), so
        documents it does not yield are kept, and the source's lexicon is not relearned from them.
        """
        started = time.perf_counter()
        stats = IngestStats()
        run_id = await self.catalog.start_run(loader.source)
        try:
            await self.store.ensure_collection(self.embedder.dim)
            await self._run(loader, stats, complete=complete)
            optimize = getattr(self.store, "optimize", None)
            if stats.chunks and optimize is not None:
                await optimize()  # merge the many small segments of an ingest into searchable ones
        except BaseException as exc:
            stats.seconds = time.perf_counter() - started
            await self.catalog.finish_run(run_id, stats=stats.as_dict(), error=repr(exc)[:500])
            log.error("ingest.failed", source=loader.source, error=repr(exc), **stats.as_dict())
            raise
        stats.seconds = time.perf_counter() - started
        await asyncio.to_thread(self._record_embedder)
        await self.catalog.finish_run(run_id, stats=stats.as_dict())
        log.info("ingest.done", source=loader.source, **stats.as_dict())
        return stats

    async def remove(self, source: str, external_ids: list[str]) -> int:
        """Delete these documents of ``source`` from the index (store first, then the catalog)."""
        states = await self.catalog.states(source)
        removed = 0
        for ext_id in external_ids:
            state = states.get(ext_id)
            if state is not None:
                await self.store.delete_doc(state.doc_id)
                await self.catalog.mark_deleted(state.doc_id)
                removed += 1
        return removed

    async def _run(self, loader: Loader, stats: IngestStats, *, complete: bool = True) -> None:
        states = await self.catalog.states(loader.source)
        docs = [doc async for doc in loader.load()]
        seen = {d.external_id for d in docs}
        for ext_id, state in states.items():
            if complete and ext_id not in seen:
                await self.store.delete_doc(state.doc_id)
                await self.catalog.mark_deleted(state.doc_id)
                stats.deleted += 1
        todo: list[SourceDocument] = []
        for doc in docs:
            doc.meta.setdefault("raw_hash", doc.content_hash)
            doc.content_hash = self._effective_hash(doc)
            state = states.get(doc.external_id)
            if state is not None and state.content_hash == doc.content_hash:
                stats.unchanged += 1
            else:
                todo.append(doc)
                if state is None:
                    stats.added += 1
                else:
                    stats.changed += 1
        self._note_reembed(states, stats)
        pending: list[Pending] = []
        for doc in todo:
            state = await self.catalog.register(doc)
            chunks = await asyncio.to_thread(chunk_document, doc, state.doc_id, self.chunking)
            if self.cards and (card := document_card(doc, chunks)) is not None:
                chunks.append(card)  # same doc_id: replaced and deleted with the page's passages
            access = [str(a) for a in doc.meta.get("access") or []]
            anchor = doc.meta.get("anchor_prefix")
            for c in chunks:
                c.version = state.version
                c.access = list(access)
                if anchor and doc.url and c.kind != "card" and c.breadcrumb:
                    # a heading anchor where the source has one (Confluence: "PageTitle-Heading")
                    c.url = f"{doc.url}#{anchor}-{''.join(c.breadcrumb[-1].split())}"
            pending.append((state.doc_id, doc.content_hash, chunks))
        progress = IngestProgress(stats.unchanged, len(docs), 0, sum(len(p[2]) for p in pending))
        self._report(progress)
        for group in self._groups(pending):
            await self._write(group, progress, stats)
        if complete:
            await self._learn_lexicon(loader.source, docs, stats)

    def _note_reembed(self, states: dict[str, DocumentState], stats: IngestStats) -> None:
        """Say so when a new embedder makes this run re-embed the whole index (once, on upgrade)."""
        if self.lexicon_dir is None or not stats.changed:
            return
        marker = self.lexicon_dir / EMBEDDER_MARKER
        previous = marker.read_text().strip() if marker.is_file() else None
        if previous == self.embedder.name or (previous is None and stats.changed < len(states)):
            return
        log.warning(
            "ingest.reembed",
            previous=previous or "not recorded (an index from an older Opora)",
            embedder=self.embedder.name,
            documents=stats.changed,
            note="the embedding backend changed: every passage is embedded once again with the new one",
        )

    def _record_embedder(self) -> None:
        if self.lexicon_dir is not None:
            self.lexicon_dir.mkdir(parents=True, exist_ok=True)
            (self.lexicon_dir / EMBEDDER_MARKER).write_text(self.embedder.name + "\n")

    async def _learn_lexicon(self, source: str, docs: list[SourceDocument], stats: IngestStats) -> None:
        if self.lexicon_dir is None:
            return
        file = lexicon_file(self.lexicon_dir, source)
        if file.exists() and not (stats.added or stats.changed or stats.deleted):
            return
        pairs = [(d.path or d.external_id, d.text) for d in docs]
        lexicon = await asyncio.to_thread(learn, pairs)
        await asyncio.to_thread(lexicon.save, file)
        log.info("ingest.lexicon", source=source, terms=len(lexicon.entries))

    def _groups(self, pending: list[Pending]) -> list[list[Pending]]:
        groups: list[list[Pending]] = [[]]
        size = 0
        for item in pending:
            if groups[-1] and size + len(item[2]) > self.group_chunks:
                groups.append([])
                size = 0
            groups[-1].append(item)
            size += len(item[2])
        return [g for g in groups if g]

    async def _embed(self, group: list[Pending], texts: list[str], keys: list[str]) -> tuple[np.ndarray, int]:
        """Vectors for ``texts``: those the store already holds for these documents under the same key
        (an edited page keeps the vectors of its unchanged sections), the rest embedded once each."""
        known = await self.store.stored_vectors([doc_id for doc_id, _, _ in group])
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in known))
        fresh = (
            dict(zip(missing, await self.embedder.embed_passages(missing), strict=True)) if missing else {}
        )
        vectors = [known[k] if k in known else fresh[t] for t, k in zip(texts, keys, strict=True)]
        return np.stack(vectors).astype(np.float32), sum(k in known for k in keys)

    async def _write(self, group: list[Pending], progress: IngestProgress, stats: IngestStats) -> None:
        chunks = [c for _, _, cs in group for c in cs]
        texts = [c.index_text() for c in chunks]
        keys = [embed_key(self.embedder.name, t) for t in texts]
        dense, reused = await self._embed(group, texts, keys)
        stats.reused += reused
        sparse = await asyncio.to_thread(lambda: [document_vector(t) for t in texts])
        start = 0
        for doc_id, content_hash, cs in group:
            end = start + len(cs)
            await self.store.delete_doc(doc_id)
            await self.store.upsert(cs, dense[start:end], sparse[start:end], keys=keys[start:end])
            passages = sum(c.kind != "card" for c in cs)
            await self.catalog.mark_indexed(doc_id, content_hash=content_hash, chunks=passages)
            start = end
            progress.docs_done += 1
            progress.chunks_done += len(cs)
            stats.chunks += len(cs)
        self._report(progress)

    def _report(self, progress: IngestProgress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)
