"""Running the Confluence sync from the core: the scheduler's jobs, ``opora sync confluence``, who sees what.

The sync itself is ``rag.sync.confluence``; this module wires it to the services (database, embedder,
store, retrieval cache) and maps an asker to the Confluence principals that decide which restricted pages
they may see (``access_scope``).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import structlog

from bot.types import Incoming
from rag.access import AccessScope
from rag.factory import build_ingestor
from rag.sync.confluence import GROUPS_CHECKPOINT, ConfluenceSync, SyncStats, client_from_settings
from storage.db import Database
from storage.repositories import jobs as job_repo
from storage.repositories.documents import SqlDocumentCatalog
from storage.repositories.jobs import SqlCheckpoints

if TYPE_CHECKING:
    from bot.scheduler.core import JobContext, Scheduler
    from bot.services import Services

log = structlog.get_logger(__name__)
SYNC_JOB = "confluence.sync"
RECONCILE_JOB = "confluence.reconcile"


async def sync_confluence(
    services: Services,
    *,
    full: bool = False,
    on_progress: Callable[[SyncStats], None] | None = None,
    record: bool = False,
    **client_kwargs: Any,
) -> SyncStats:
    """One sync run (``full``: also reconcile deletions). Raises on failure; nothing is deleted then.

    ``record``: write the run to ``job_runs`` (``opora sync confluence``; scheduled runs are recorded by
    the scheduler).
    """
    if not record:
        return await _sync(services, full=full, on_progress=on_progress, **client_kwargs)
    name = RECONCILE_JOB if full else SYNC_JOB
    async with services.db.session() as s:
        run_id = await job_repo.start_job_run(
            s, job=name, instance=f"cli:{socket.gethostname()}:{os.getpid()}"
        )
    status, error, counts = "ok", None, {}
    try:
        stats = await _sync(services, full=full, on_progress=on_progress, **client_kwargs)
        counts = {k: v for k, v in stats.as_dict().items() if k != "seconds"}
        return stats
    except BaseException as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        async with services.db.session() as s:
            await job_repo.finish_job_run(s, run_id=run_id, status=status, counts=counts, error=error)


async def _sync(
    services: Services,
    *,
    full: bool,
    on_progress: Callable[[SyncStats], None] | None,
    **client_kwargs: Any,
) -> SyncStats:
    settings = services.settings.confluence
    if not settings.enabled:
        raise ValueError("Confluence is not configured: set confluence.url, .token and .spaces")
    ingestor = build_ingestor(
        services.settings,
        SqlDocumentCatalog(services.db),
        embedder=services.extras["embedder"],
        store=services.extras["store"],
    )
    ingestor.lexicon_dir = None  # partial batches: the lexicon stays the folder sources'
    async with client_from_settings(settings, **client_kwargs) as client:
        checkpoints = SqlCheckpoints(services.db)
        sync = ConfluenceSync(settings, client, ingestor, checkpoints, on_progress=on_progress)
        try:
            stats = await sync.run(full=full)
        finally:
            _clear_retrieval_cache(services)
    return stats


def _clear_retrieval_cache(services: Services) -> None:
    clear = getattr(services.extras.get("retriever"), "clear", None)
    if clear is not None:
        clear()  # cached searches may point at replaced, removed or newly restricted passages


def sync_job(services: Services, *, full: bool) -> Callable[[JobContext], Any]:
    async def job(ctx: JobContext) -> dict[str, int]:
        stats = await sync_confluence(services, full=full)
        return {k: v for k, v in stats.as_dict().items() if k != "seconds"}

    return job


def register_confluence_jobs(scheduler: Scheduler, services: Services) -> None:
    settings = services.settings
    if not settings.confluence.enabled:
        return
    scheduler.add(SYNC_JOB, sync_job(services, full=False), minutes=settings.confluence.sync_interval)
    scheduler.add(RECONCILE_JOB, sync_job(services, full=True), cron=settings.scheduler.reconcile_cron)


class ConfluenceAccess:
    """Who sees restricted Confluence pages (the engine's ``access`` resolver).

    Only a private conversation (a direct message, the web chat) of a person whose e-mail the platform
    vouches for gets more than public pages: ``user:<e-mail>`` plus the Confluence groups that e-mail
    belongs to. Channels, group chats, the REST API and unknown users get public pages only. Group
    membership comes from the last sync (``confluence.groups`` checkpoint), re-read at most every ``ttl``
    seconds.
    """

    def __init__(self, db: Database, *, ttl: float = 60.0) -> None:
        self.checkpoints = SqlCheckpoints(db)
        self.ttl = ttl
        self._members: dict[str, list[str]] = {}
        self._loaded = -1e9

    async def __call__(self, incoming: Incoming) -> AccessScope:
        if not incoming.private or incoming.user.is_bot:
            return AccessScope()
        return await self.scope(incoming.user.email)

    async def scope(self, email: str | None) -> AccessScope:
        if not email:
            return AccessScope()
        if time.monotonic() - self._loaded > self.ttl:
            data = await self.checkpoints.get(GROUPS_CHECKPOINT) or {}
            self._members = dict(data.get("members") or {})
            self._loaded = time.monotonic()
        return AccessScope.for_user(email, self._members.get(email.strip().lower(), []))
