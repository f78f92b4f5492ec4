"""Documents and ingest runs. ``SqlDocumentCatalog`` is the ingest's ``rag.types.DocumentCatalog``."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from rag.types import DocumentState, SourceDocument
from storage.db import Database
from storage.models import Document, IngestRun, utcnow
from storage.repositories._upsert import insert_for


def document_id(source: str, external_id: str) -> str:
    """Stable id of a document across runs and replicas."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"opora:{source}:{external_id}"))


def _state(doc: Document) -> DocumentState:
    return DocumentState(
        doc_id=doc.id, external_id=doc.external_id, content_hash=doc.content_hash, version=doc.version
    )


class SqlDocumentCatalog:
    """The ``documents`` and ``ingest_runs`` tables seen as a ``DocumentCatalog``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def states(self, source: str) -> dict[str, DocumentState]:
        async with self.db.session() as s:
            stmt = select(Document).where(Document.source == source, Document.deleted.is_(False))
            return {d.external_id: _state(d) for d in (await s.execute(stmt)).scalars()}

    async def register(self, doc: SourceDocument) -> DocumentState:
        doc_id = document_id(doc.source, doc.external_id)
        async with self.db.session() as s:
            insert = insert_for(s, Document).values(
                id=doc_id,
                source=doc.source,
                external_id=doc.external_id,
                path=doc.path,
                url=doc.url,
                title=doc.title[:512],
                lang=doc.lang,
                content_hash=None,
                pending_hash=doc.content_hash,
                version=1,
                chunks=0,
                deleted=False,
                updated_at=utcnow(),
            )
            await s.execute(insert.on_conflict_do_nothing(index_elements=["id"]))
            row = await s.get(Document, doc_id)
            assert row is not None
            if row.deleted or (row.content_hash != doc.content_hash and row.pending_hash != doc.content_hash):
                row.version += 1
            if row.content_hash != doc.content_hash:
                row.pending_hash = doc.content_hash
            row.deleted = False
            row.title, row.path, row.url, row.lang = doc.title[:512], doc.path, doc.url, doc.lang
            row.updated_at = utcnow()
            return _state(row)

    async def mark_indexed(self, doc_id: str, *, content_hash: str, chunks: int) -> None:
        async with self.db.session() as s:
            row = await s.get(Document, doc_id)
            if row is not None:
                row.content_hash, row.pending_hash, row.chunks = content_hash, None, chunks
                row.updated_at = utcnow()

    async def mark_deleted(self, doc_id: str) -> None:
        async with self.db.session() as s:
            row = await s.get(Document, doc_id)
            if row is not None:
                row.deleted, row.content_hash, row.chunks = True, None, 0
                row.updated_at = utcnow()

    async def start_run(self, source: str) -> int:
        async with self.db.session() as s:
            run = IngestRun(source=source, status="running", stats={})
            s.add(run)
            await s.flush()
            return run.id

    async def finish_run(self, run_id: int, *, stats: dict[str, int], error: str | None = None) -> None:
        async with self.db.session() as s:
            run = await s.get(IngestRun, run_id)
            if run is not None:
                run.status = "failed" if error else "done"
                run.stats, run.error, run.finished_at = dict(stats), error, utcnow()


async def document_versions(session: AsyncSession, *, doc_ids: list[str]) -> dict[str, int]:
    """Current version of each live document (a missing id was deleted)."""
    if not doc_ids:
        return {}
    stmt = select(Document.id, Document.version).where(Document.id.in_(doc_ids), Document.deleted.is_(False))
    return {doc_id: version for doc_id, version in (await session.execute(stmt)).all()}


async def index_summary(session: AsyncSession) -> dict[str, Any]:
    """Counts for /readyz and the CLI: live documents, indexed ones, chunks."""
    live = Document.deleted.is_(False)
    total = (await session.execute(select(func.count()).where(live))).scalar_one()
    indexed = (
        await session.execute(select(func.count()).where(live, Document.content_hash.is_not(None)))
    ).scalar_one()
    chunks = (
        await session.execute(select(func.coalesce(func.sum(Document.chunks), 0)).where(live))
    ).scalar_one()
    return {"documents": int(total), "indexed": int(indexed), "chunks": int(chunks)}


async def last_run(session: AsyncSession) -> IngestRun | None:
    stmt = select(IngestRun).order_by(IngestRun.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()
