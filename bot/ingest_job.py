"""Indexing the knowledge base folders, reporting progress to ``IndexStatus`` (and so to /readyz)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import structlog

from bot.indexing import IndexStatus
from bot.services import Services
from rag.factory import build_ingestor
from rag.ingest import IngestProgress
from rag.loaders.folder import FolderLoader
from storage.repositories.documents import SqlDocumentCatalog

log = structlog.get_logger(__name__)


async def ingest_paths(
    services: Services,
    paths: list[Path],
    *,
    status: IndexStatus | None = None,
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> dict[str, int]:
    """Ingest every folder in ``paths`` incrementally; returns summed stats."""
    status = status or services.index
    settings = services.settings
    totals: dict[str, int] = {}
    status.begin([str(p) for p in paths])
    last_logged = -10

    def progress(p: IngestProgress) -> None:
        nonlocal last_logged
        status.progress(docs_done=p.docs_done, docs_total=p.docs_total, chunks_done=p.chunks_done)
        if status.percent >= last_logged + 10:
            last_logged = status.percent
            log.info("ingest.progress", percent=status.percent, documents=p.docs_done, total=p.docs_total)
        if on_progress is not None:
            on_progress(p)

    ingestor = build_ingestor(
        settings,
        SqlDocumentCatalog(services.db),
        embedder=services.extras["embedder"],
        store=services.extras["store"],
        on_progress=progress,
    )
    try:
        for path in paths:
            loader = FolderLoader(path, max_file_bytes=settings.kb.max_file_bytes)
            stats = (await ingestor.run(loader)).as_dict()
            for key, value in stats.items():
                totals[key] = totals.get(key, 0) + int(value)
    except Exception as exc:
        status.finish(error=f"{type(exc).__name__}: {exc}")
        log.exception("ingest.failed")
        raise
    status.finish()
    if totals.get("added") or totals.get("changed") or totals.get("deleted"):
        clear = getattr(services.extras.get("retriever"), "clear", None)
        if clear is not None:
            clear()  # cached searches may point at replaced or removed passages
    log.info("ingest.done", **totals)
    return totals


async def run_ingest(services: Services, paths: list[Path]) -> None:
    """Background form for ``opora serve``: failures are logged and shown by /readyz, never raised."""
    try:
        await ingest_paths(services, paths)
    except Exception:  # already logged and recorded in IndexStatus
        return
