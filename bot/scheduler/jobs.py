"""The built-in jobs and the one place that registers them (``register_jobs``).

Adding a job of your own is one line in your area's wiring (or here), e.g.::

    scheduler.add("escalation.repage", repage_job, minutes=1)
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from bot.analytics.digest import register_analytics_jobs
from bot.confluence_sync import register_confluence_jobs
from bot.indexing import IndexStatus
from storage.repositories import jobs as job_repo
from storage.repositories.cache import cache_purge_expired
from storage.repositories.events import purge_events

if TYPE_CHECKING:
    from bot.escalation.service import EscalationService
    from bot.scheduler.core import JobContext, JobFunc, Scheduler
    from bot.services import Services

log = structlog.get_logger(__name__)

FOLDER_RESCAN = "kb.rescan"
CLEANUP = "db.cleanup"


def folder_rescan(services: Services):  # type: ignore[no-untyped-def]
    """Re-index ``kb.paths`` incrementally: a changed file reaches answers without a restart."""

    async def job(ctx: JobContext) -> dict[str, int]:
        from bot.ingest_job import ingest_paths

        if services.index.state == "running":  # the start-up ingest is still at it
            return {"skipped": 1}
        paths = [p for p in services.settings.kb.paths if p.is_dir()]
        # Its own status: a routine rescan must not mark answers as "index still building".
        return await ingest_paths(services, paths, status=IndexStatus())

    return job


def cleanup(services: Services):  # type: ignore[no-untyped-def]
    """Delete rows of the tables that grow forever: old event ids, expired cache entries, old run records."""
    cfg = services.settings.scheduler

    async def job(ctx: JobContext) -> dict[str, int]:
        async with services.db.session() as s:
            events = await purge_events(s, older_than=timedelta(days=cfg.events_retention_days))
            cache = await cache_purge_expired(s)
            runs = await job_repo.purge_job_runs(s, older_than=timedelta(days=cfg.runs_retention_days))
            ingests = await job_repo.purge_ingest_runs(s, older_than=timedelta(days=cfg.runs_retention_days))
        return {"events": events, "cache": cache, "job_runs": runs, "ingest_runs": ingests}

    return job


def escalation_sweep(service: EscalationService) -> JobFunc:
    async def job(ctx: JobContext) -> dict[str, int]:
        return await service.sweep()

    return job


def register_jobs(scheduler: Scheduler, services: Services) -> None:
    """Register every job this deployment runs (the built-ins, then the optional parts that are set up)."""
    settings = services.settings
    cfg = settings.scheduler
    if cfg.folder_rescan_minutes > 0 and settings.kb.paths:
        # An Edge index lives inside each process, so every replica rescans its own; a Qdrant server is
        # shared, so only the leader does.
        scheduler.add(
            FOLDER_RESCAN,
            folder_rescan(services),
            minutes=cfg.folder_rescan_minutes,
            every_replica=settings.vector_store.kind == "edge",
        )
    scheduler.add(CLEANUP, cleanup(services), cron=cfg.cleanup_cron)
    register_confluence_jobs(scheduler, services)
    if services.escalation is not None:  # retries of failed pages and re-pages; claims are replica-safe
        scheduler.add(
            "escalation.sweep",
            escalation_sweep(services.escalation),
            seconds=settings.escalation.outbox_interval,
            description="retry failed pages, re-page the next person when nobody acknowledged",
        )
    register_analytics_jobs(scheduler, services)
    # Parts that run on a schedule register here, one line each (see the package docstring).
