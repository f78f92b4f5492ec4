"""RAG vocabulary and the plug-in protocols: ``Loader``, ``Embedder``, ``VectorStore``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(slots=True)
class SourceDocument:
    """A document as a loader yields it, before chunking.

    ``external_id`` is stable across runs (a path relative to the ingested folder, a Confluence page id);
    ``content_hash`` changes whenever the text changes.
    """

    source: str  # "folder:<name>", "confluence:<space>", ...
    external_id: str
    title: str
    text: str
    kind: str  # "markdown" | "text" | "html" | "faq"
    lang: str | None = None
    url: str | None = None
    path: str | None = None
    content_hash: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Chunk:
    """A piece of a document, the unit of retrieval."""

    chunk_id: str  # stable: derived from doc id + position + content
    doc_id: str
    ordinal: int
    text: str  # what the user is shown
    title: str
    breadcrumb: list[str]
    lang: str | None
    url: str | None
    path: str | None
    source: str
    version: int = 1
    kind: str = "chunk"  # "chunk" (a passage) | "card" (a page's title + outline, for ranking only)
    access: list[str] = field(default_factory=list)  # who may see it (``rag.access``); empty: everyone

    @property
    def section(self) -> str | None:
        return " › ".join(self.breadcrumb) if self.breadcrumb else None

    def index_text(self) -> str:
        """The text that is embedded and indexed: title and heading path carried into every chunk."""
        head = " › ".join([self.title, *self.breadcrumb]) if self.title else " › ".join(self.breadcrumb)
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True, slots=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass(slots=True)
class ScoredChunk:
    chunk: Chunk
    score: float
    dense_score: float | None = None
    sparse_score: float | None = None


@runtime_checkable
class Loader(Protocol):
    """Yields the documents of one source. Must not block the event loop."""

    source: str

    def load(self) -> AsyncIterator[SourceDocument]: ...


@runtime_checkable
class Embedder(Protocol):
    """Dense text embeddings. Implementations batch and run off the event loop."""

    dim: int
    name: str

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    async def embed_query(self, text: str) -> np.ndarray: ...


@runtime_checkable
class VectorStore(Protocol):
    """One collection with a named dense vector ``dense`` and a sparse BM25 vector ``bm25``."""

    async def ensure_collection(self, dim: int) -> None: ...

    async def upsert(
        self,
        chunks: Sequence[Chunk],
        dense: np.ndarray,
        sparse: Sequence[SparseVector],
        *,
        keys: Sequence[str | None] | None = None,
    ) -> None:
        """Write points; ``keys`` (one per chunk) are kept so ``stored_vectors`` can hand them back."""
        ...

    async def delete_doc(self, doc_id: str) -> None: ...

    async def stored_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The dense vectors already stored for ``doc_ids``, by the key they were written with."""
        ...

    async def hybrid_query(
        self,
        dense: np.ndarray,
        sparse: SparseVector,
        *,
        limit: int,
        candidates: int,
        filters: dict[str, str] | None = None,
    ) -> list[ScoredChunk]: ...

    async def count(self) -> int: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DocumentState:
    """What the catalog knows of one document: the content hash that is fully indexed, if any."""

    doc_id: str
    external_id: str
    content_hash: str | None  # None: registered but its chunks are not (fully) indexed
    version: int


class DocumentCatalog(Protocol):
    """The ingest bookkeeping (implemented over the ``documents``/``ingest_runs`` tables in ``storage``).

    Ingest order that keeps the index consistent across crashes: ``register`` (the doc id exists, hash
    unset) → delete the doc's old chunks and upsert the new ones in the vector store → ``mark_indexed``.
    A crash anywhere leaves ``content_hash`` unset or stale, so the next run redoes that document; chunk ids
    are deterministic, so redoing is idempotent. Removal: delete chunks → ``mark_deleted``.
    """

    async def states(self, source: str) -> dict[str, DocumentState]:
        """Live (not deleted) documents of ``source`` by external id."""
        ...

    async def register(self, doc: SourceDocument) -> DocumentState:
        """Create or fetch the row for ``doc`` (new version number when its hash changed)."""
        ...

    async def mark_indexed(self, doc_id: str, *, content_hash: str, chunks: int) -> None: ...

    async def mark_deleted(self, doc_id: str) -> None: ...

    async def start_run(self, source: str) -> int: ...

    async def finish_run(self, run_id: int, *, stats: dict[str, int], error: str | None = None) -> None: ...
