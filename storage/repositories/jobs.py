"""Scheduled job runs and checkpoints (see ``bot.scheduler``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Checkpoint, IngestRun, JobRun, utcnow
from storage.repositories._upsert import insert_for


async def start_job_run(session: AsyncSession, *, job: str, instance: str) -> int:
    run = JobRun(job=job, instance=instance, status="running", counts={}, started_at=utcnow())
    session.add(run)
    await session.flush()
    return run.id


async def finish_job_run(
    session: AsyncSession, *, run_id: int, status: str, counts: dict[str, Any], error: str | None = None
) -> None:
    run = await session.get(JobRun, run_id)
    if run is not None:
        run.status, run.counts, run.error, run.finished_at = status, dict(counts), error, utcnow()


async def abandon_foreign_runs(session: AsyncSession, *, instance: str) -> list[str]:
    """Mark runs left ``running`` by another instance as ``abandoned``; the names of their jobs.

    Called by a new leader: while it holds the lease no other instance runs jobs, so such a row is a run
    whose instance died (or lost the lease) mid-job.
    """
    # "cli:…" rows are runs by hand (``opora sync confluence``) in another process that may still be at it.
    stmt = select(JobRun).where(
        JobRun.status == "running", JobRun.instance != instance, JobRun.instance.not_like("cli:%")
    )
    rows = list((await session.execute(stmt)).scalars())
    for row in rows:
        row.status, row.finished_at = "abandoned", utcnow()
        row.error = "its instance stopped mid-run; the next leader resumes the job"
    return sorted({r.job for r in rows})


async def recent_job_runs(session: AsyncSession, *, job: str | None = None, limit: int = 20) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job is not None:
        stmt = stmt.where(JobRun.job == job)
    return list((await session.execute(stmt)).scalars())


async def last_job_runs(session: AsyncSession) -> dict[str, JobRun]:
    """The latest run of every job that ever ran."""
    latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job).subquery()
    stmt = select(JobRun).join(latest, JobRun.id == latest.c.id).order_by(JobRun.job)
    return {r.job: r for r in (await session.execute(stmt)).scalars()}


async def last_ok_run(session: AsyncSession, *, job: str) -> JobRun | None:
    stmt = select(JobRun).where(JobRun.job == job, JobRun.status == "ok").order_by(JobRun.id.desc()).limit(1)
    return (await session.execute(stmt)).scalar_one_or_none()


async def purge_job_runs(session: AsyncSession, *, older_than: timedelta) -> int:
    cutoff = utcnow() - older_than
    stmt = delete(JobRun).where(JobRun.started_at < cutoff, JobRun.status != "running")
    result = await session.execute(stmt)
    return int(result.rowcount or 0)


async def purge_ingest_runs(session: AsyncSession, *, older_than: timedelta) -> int:
    cutoff = utcnow() - older_than
    result = await session.execute(
        delete(IngestRun).where(IngestRun.started_at < cutoff, IngestRun.status != "running")
    )
    return int(result.rowcount or 0)


async def get_checkpoint(session: AsyncSession, *, name: str) -> dict[str, Any] | None:
    row = await session.get(Checkpoint, name)
    return dict(row.value) if row is not None else None


async def put_checkpoint(session: AsyncSession, *, name: str, value: dict[str, Any]) -> None:
    insert = insert_for(session, Checkpoint).values(name=name, value=value, updated_at=utcnow())
    await session.execute(
        insert.on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": utcnow()})
    )


async def delete_checkpoint(session: AsyncSession, *, name: str) -> None:
    await session.execute(delete(Checkpoint).where(Checkpoint.name == name))


async def mark_interrupted(session: AsyncSession, *, instance: str) -> int:
    """On a clean shutdown: this instance's running rows end as ``interrupted``."""
    result = await session.execute(
        update(JobRun)
        .where(JobRun.status == "running", JobRun.instance == instance)
        .values(status="interrupted", finished_at=utcnow())
    )
    return int(result.rowcount or 0)


class SqlCheckpoints:
    """The ``checkpoints`` table as a ``rag.sync.confluence.CheckpointStore``."""

    def __init__(self, db: Any) -> None:
        self.db = db

    async def get(self, name: str) -> dict[str, Any] | None:
        async with self.db.session() as s:
            return await get_checkpoint(s, name=name)

    async def put(self, name: str, value: dict[str, Any]) -> None:
        async with self.db.session() as s:
            await put_checkpoint(s, name=name, value=value)
