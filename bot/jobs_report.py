"""``opora jobs``: the scheduler's run records as tables (reads the database only)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from bot.config import Settings
from storage.db import Database
from storage.repositories import jobs as repo


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "—"


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in counts.items()) or "—"


def _seconds(run: Any) -> str:
    if run.finished_at is None:
        return "—"
    return f"{(run.finished_at - run.started_at).total_seconds():.1f}"


async def print_jobs(settings: Settings, console: Console, *, limit: int, job: str | None) -> None:
    db = Database(settings.resolved_database_url)
    try:
        await db.migrate()
        async with db.session() as s:
            last = await repo.last_job_runs(s)
            recent = await repo.recent_job_runs(s, job=job, limit=limit)
    finally:
        await db.close()
    summary = Table(title="jobs: last run of each")
    for column in ("job", "status", "started (UTC)", "seconds", "counts", "instance"):
        summary.add_column(column)
    for name, r in last.items():
        summary.add_row(name, r.status, _when(r.started_at), _seconds(r), _counts(r.counts), r.instance)
    console.print(summary if last else "No job has run yet.")
    if not recent:
        return
    table = Table(title=f"recent runs{f' of {job}' if job else ''}")
    for column in ("id", "job", "status", "started (UTC)", "finished (UTC)", "counts", "error"):
        table.add_column(column, overflow="fold")
    for r in recent:
        cells = (r.job, r.status, _when(r.started_at), _when(r.finished_at), _counts(r.counts), r.error or "")
        table.add_row(str(r.id), *cells)
    console.print(table)
