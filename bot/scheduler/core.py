"""``Scheduler``: APScheduler 3 (``AsyncIOScheduler``) timing, our lease deciding who runs, runs recorded."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.background import Background
from bot.scheduler.lease import Lease, LocalLease
from bot.scheduler.settings import JobOverride
from storage.db import Database
from storage.repositories import jobs as repo

log = structlog.get_logger(__name__)
JobFunc = Callable[["JobContext"], Awaitable[dict[str, int] | None]]


@dataclass(slots=True)
class JobContext:
    """What a running job gets: its name, counters and its checkpoint (kept across runs and replicas)."""

    name: str
    run_id: int
    db: Database
    lease: Lease
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    @property
    def is_leader(self) -> bool:
        return self.lease.is_leader

    async def load_checkpoint(self, name: str | None = None) -> dict[str, Any] | None:
        """The checkpoint saved by an earlier (perhaps killed) run; ``name`` defaults to the job's."""
        async with self.db.session() as s:
            return await repo.get_checkpoint(s, name=name or self.name)

    async def save_checkpoint(self, value: dict[str, Any], name: str | None = None) -> None:
        async with self.db.session() as s:
            await repo.put_checkpoint(s, name=name or self.name, value=value)

    async def clear_checkpoint(self, name: str | None = None) -> None:
        async with self.db.session() as s:
            await repo.delete_checkpoint(s, name=name or self.name)


@dataclass(slots=True)
class JobSpec:
    name: str
    func: JobFunc
    trigger: BaseTrigger
    every_replica: bool = False  # True: runs in each process (e.g. a per-process index), not only the leader
    description: str = ""


def make_trigger(
    *,
    minutes: float | None = None,
    seconds: float | None = None,
    cron: str | None = None,
    trigger: BaseTrigger | None = None,
) -> BaseTrigger:
    """One APScheduler trigger from the ways ``Scheduler.add`` accepts a schedule (UTC)."""
    given = [x is not None for x in (minutes, seconds, cron, trigger)]
    if sum(given) != 1:
        raise ValueError("give exactly one of minutes=, seconds=, cron= or trigger=")
    if trigger is not None:
        return trigger
    if cron is not None:
        return CronTrigger.from_crontab(cron, timezone=UTC)
    total = (minutes or 0) * 60 + (seconds or 0)
    if total <= 0:
        raise ValueError("an interval must be positive")
    return IntervalTrigger(seconds=total, timezone=UTC)


class Scheduler:
    """Runs registered jobs on schedule in the serving process; see the package docstring for the API.

    Args:
        db: Where runs and checkpoints are stored.
        lease: Who leads (``lease_for`` picks the advisory lock on PostgreSQL).
        overrides: ``settings.scheduler.jobs``: per-name schedule overrides and switches.
        instance: This process's id in the run records (default ``host:pid:random``).
    """

    def __init__(
        self,
        db: Database,
        lease: Lease | None = None,
        *,
        overrides: dict[str, JobOverride] | None = None,
        instance: str | None = None,
    ) -> None:
        self.db = db
        self.lease: Lease = lease or LocalLease()
        self.overrides = overrides or {}
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.jobs: dict[str, JobSpec] = {}
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            # A run that is late (the process was busy or asleep) still happens, once.
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._busy: set[str] = set()  # claimed before the run row is written, so two fires cannot race
        self._background = Background()  # resumed runs started in the background
        self._started = False
        self.lease.subscribe(self._on_lease)

    # --- registration -----------------------------------------------------------------------------------
    def add(
        self,
        name: str,
        func: JobFunc,
        *,
        minutes: float | None = None,
        seconds: float | None = None,
        cron: str | None = None,
        trigger: BaseTrigger | None = None,
        every_replica: bool = False,
        description: str = "",
    ) -> JobSpec | None:
        """Register ``func`` under ``name`` (unique) on one schedule; ``scheduler.jobs.<name>`` in the
        settings may change the schedule or disable the job (then ``None`` is returned)."""
        if name in self.jobs:
            raise ValueError(f"job {name!r} is already registered")
        override = self.overrides.get(name)
        if override is not None:
            if not override.enabled:
                log.info("scheduler.job_disabled", job=name)
                return None
            if override.minutes is not None or override.cron is not None:
                minutes, seconds, cron, trigger = override.minutes, None, override.cron, None
                if minutes is not None and cron is not None:
                    cron = None  # both given: the interval wins
        spec = JobSpec(name, func, make_trigger(minutes=minutes, seconds=seconds, cron=cron, trigger=trigger))
        spec.every_replica, spec.description = every_replica, description
        self.jobs[name] = spec
        self._aps.add_job(self._fire, spec.trigger, args=[name], id=name, name=name, replace_existing=True)
        return spec

    # --- life cycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start timing jobs and campaigning for the lease (returns at once)."""
        if self._started:
            return
        self._started = True
        self._aps.start()
        await self.lease.start()
        log.info("scheduler.started", instance=self.instance, jobs=sorted(self.jobs), leader=self.is_leader)

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._aps.shutdown(wait=False)
        await self._cancel_running()
        await self._background.stop()
        await self.lease.stop()
        log.info("scheduler.stopped", instance=self.instance)

    @property
    def is_leader(self) -> bool:
        return self.lease.is_leader

    def wakeup(self) -> None:
        """Look for due jobs now (tests call it after moving their clock)."""
        self._aps.wakeup()

    def next_run(self, name: str) -> datetime | None:
        job = self._aps.get_job(name)
        return getattr(job, "next_run_time", None)  # a job of a scheduler not started has none yet

    # --- running ----------------------------------------------------------------------------------------
    async def _on_lease(self, leader: bool) -> None:
        if not leader:
            await self._cancel_running(leader_only=True)
            return
        async with self.db.session() as s:
            resumed = await repo.abandon_foreign_runs(s, instance=self.instance)
        for name in resumed:
            if name in self.jobs:
                log.warning("scheduler.resume", job=name, reason="the previous run's instance stopped")
                self._spawn(self.run_now(name))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._background.spawn(coro)

    async def _cancel_running(self, *, leader_only: bool = False) -> None:
        tasks = [
            t
            for n, t in self._running.items()
            if not (leader_only and n in self.jobs and self.jobs[n].every_replica)
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _fire(self, name: str) -> None:
        """APScheduler's callback: run when this process may (leader, or an every-replica job)."""
        spec = self.jobs.get(name)
        if spec is None:
            return
        if not spec.every_replica and not self.lease.is_leader:
            log.debug("scheduler.skip", job=name, reason="not the leader")
            return
        await self.run_now(name)

    async def run_now(self, name: str) -> str:
        """Run job ``name`` once now (unless it is already running here); returns the run's status."""
        spec = self.jobs[name]
        if name in self._busy:
            log.info("scheduler.skip", job=name, reason="already running")
            return "skipped"
        self._busy.add(name)
        try:
            return await self._run(spec)
        finally:
            self._busy.discard(name)

    async def _run(self, spec: JobSpec) -> str:
        name = spec.name
        async with self.db.session() as s:
            run_id = await repo.start_job_run(s, job=name, instance=self.instance)
        ctx = JobContext(name=name, run_id=run_id, db=self.db, lease=self.lease)
        task = asyncio.ensure_future(spec.func(ctx))
        self._running[name] = task
        started = time.perf_counter()
        status, error = "ok", None
        try:
            result = await task
            for key, value in (result or {}).items():
                ctx.counts[key] = int(value)
        except asyncio.CancelledError:
            status, error = "interrupted", "stopped: the process shut down or lost the lease"
        except Exception as exc:  # a failed job is recorded; the next run tries again
            status, error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
            log.exception("scheduler.job_failed", job=name, run=run_id)
        finally:
            self._running.pop(name, None)
        with contextlib.suppress(Exception):  # the record is best effort when the database is gone
            async with self.db.session() as s:
                await repo.finish_job_run(s, run_id=run_id, status=status, counts=ctx.counts, error=error)
        log.info(
            "scheduler.job_done",
            job=name,
            run=run_id,
            status=status,
            seconds=round(time.perf_counter() - started, 3),
            **{f"n_{k}": v for k, v in ctx.counts.items()},
        )
        return status

    # --- reporting --------------------------------------------------------------------------------------
    async def status(self) -> dict[str, Any]:
        """For /readyz: leadership, and each job's schedule and last run."""
        async with self.db.session() as s:
            last = await repo.last_job_runs(s)
        jobs: dict[str, Any] = {}
        for name in sorted(set(self.jobs) | set(last)):
            run = last.get(name)
            nxt = self.next_run(name) if name in self.jobs else None
            jobs[name] = {
                "next_run": nxt.isoformat() if nxt else None,
                "running": name in self._running,
                "last_run": run_summary(run) if run is not None else None,
            }
        return {"instance": self.instance, "leader": self.is_leader, "jobs": jobs}


def run_summary(run: Any) -> dict[str, Any]:
    seconds = None
    if run.finished_at is not None:
        seconds = round((run.finished_at - run.started_at) / timedelta(seconds=1), 3)
    return {
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "seconds": seconds,
        "counts": run.counts,
        "error": run.error,
        "instance": run.instance,
    }
