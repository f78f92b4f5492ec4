"""The scheduler: jobs fire on schedule (controllable clock), runs are recorded, one replica runs each job,
a killed leader is replaced and its job resumes from the checkpoint."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.scheduler import JobContext, JobOverride, LocalLease, PgAdvisoryLease, Scheduler
from storage.db import Database
from storage.models import JobRun, Setting
from storage.repositories.jobs import get_checkpoint
from tests.bot.scheduler.clock import ManualClock
from tests.conftest import _create_pg_database, _drop_pg_database, _pg_available

REPO = Path(__file__).resolve().parents[3]


async def until(check: Callable[[], object], *, within: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def runs(db: Database, job: str | None = None) -> list[JobRun]:
    async with db.session() as s:
        stmt = select(JobRun).order_by(JobRun.id)
        if job:
            stmt = stmt.where(JobRun.job == job)
        return list((await s.execute(stmt)).scalars())


async def finished(db: Database, job: str, n: int) -> bool:
    return sum(r.status != "running" for r in await runs(db, job)) >= n


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    c = ManualClock(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    c.install(monkeypatch)
    return c


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    reason = await _pg_available()
    if reason:
        pytest.skip(reason)
    url = await _create_pg_database()
    db = Database(url)
    await db.migrate()
    await db.close()
    try:
        yield url
    finally:
        await _drop_pg_database(url)


def counting_job(log: list[str], label: str = "x"):  # type: ignore[no-untyped-def]
    async def job(ctx: JobContext) -> dict[str, int]:
        log.append(label)
        ctx.count("calls")
        return {"seen": 3}

    return job


async def test_jobs_fire_on_schedule_under_a_controllable_clock(
    clock: ManualClock, sqlite_db: Database
) -> None:
    calls: list[str] = []
    scheduler = Scheduler(sqlite_db, LocalLease())
    scheduler.add("every15", counting_job(calls, "interval"), minutes=15)
    scheduler.add("nightly", counting_job(calls, "cron"), cron="0 3 * * *")
    await scheduler.start()
    try:
        assert scheduler.is_leader
        clock.advance(minutes=14)
        scheduler.wakeup()
        await asyncio.sleep(0.05)  # give a wrongly due job the chance to run; nothing must have
        assert calls == []
        clock.advance(minutes=1)  # 01:15
        scheduler.wakeup()
        await until(lambda: finished(sqlite_db, "every15", 1), what="first interval run")
        assert calls == ["interval"]
        clock.advance(hours=1, minutes=50)  # 03:05: nightly is due; every15 missed 7 runs → coalesced to one
        scheduler.wakeup()
        await until(lambda: finished(sqlite_db, "nightly", 1), what="nightly run")
        await until(lambda: finished(sqlite_db, "every15", 2), what="coalesced interval run")
        assert sorted(calls) == ["cron", "interval", "interval"]
        assert scheduler.next_run("nightly") == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
        run = (await runs(sqlite_db, "every15"))[-1]
        assert run.status == "ok" and run.counts == {"calls": 1, "seen": 3}
        assert run.finished_at is not None and run.finished_at >= run.started_at
    finally:
        await scheduler.stop()


async def test_a_failed_run_is_recorded_and_the_next_run_happens(
    clock: ManualClock, sqlite_db: Database
) -> None:
    attempts: list[int] = []

    async def flaky(ctx: JobContext) -> dict[str, int]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("confluence is down")
        return {"pages": 2}

    scheduler = Scheduler(sqlite_db)
    scheduler.add("flaky", flaky, minutes=5)
    await scheduler.start()
    try:
        for _ in range(2):
            clock.advance(minutes=5)
            scheduler.wakeup()
            await until(lambda n=len(attempts) + 1: finished(sqlite_db, "flaky", n), what="a run")
        first, second = await runs(sqlite_db, "flaky")
        assert (first.status, second.status) == ("failed", "ok")
        assert "confluence is down" in (first.error or "")
        assert second.counts == {"pages": 2}
        status = await scheduler.status()
        assert status["leader"] is True
        assert status["jobs"]["flaky"]["last_run"]["status"] == "ok"
    finally:
        await scheduler.stop()


async def test_settings_override_or_disable_a_job(sqlite_db: Database) -> None:
    overrides = {"digest": JobOverride(cron="0 9 * * *"), "repage": JobOverride(enabled=False)}
    scheduler = Scheduler(sqlite_db, overrides=overrides)
    assert scheduler.add("digest", counting_job([]), minutes=1) is not None
    assert scheduler.add("repage", counting_job([]), minutes=1) is None
    assert "cron" in str(scheduler.jobs["digest"].trigger)
    with pytest.raises(ValueError):
        scheduler.add("digest", counting_job([]), minutes=1)
    with pytest.raises(ValueError):
        scheduler.add("both", counting_job([]), minutes=1, cron="* * * * *")


async def test_a_restarted_process_resumes_a_run_it_left_running(sqlite_db: Database) -> None:
    """SQLite (one process): a run left ``running`` by a crashed process is resumed at the next start."""
    async with sqlite_db.session() as s:
        s.add(JobRun(job="sync", instance="old-process", status="running", counts={}))
        s.add(JobRun(job="sync", instance="cli:host:1", status="running", counts={}))  # by hand, maybe alive
    resumed = asyncio.Event()

    async def sync(ctx: JobContext) -> dict[str, int]:
        resumed.set()
        return {}

    scheduler = Scheduler(sqlite_db)
    scheduler.add("sync", sync, minutes=60)
    await scheduler.start()
    try:
        await asyncio.wait_for(resumed.wait(), 10)
        await until(lambda: finished(sqlite_db, "sync", 2), what="the resumed run")
        await until(lambda: _all_done(sqlite_db), what="the resumed run to finish")
        old, cli, new = await runs(sqlite_db, "sync")
        assert old.status == "abandoned" and cli.status == "running" and new.status == "ok"
    finally:
        await scheduler.stop()


@pytest.mark.postgres
async def test_two_instances_on_one_postgres_run_each_job_once(clock: ManualClock, pg_url: str) -> None:
    dbs = [Database(pg_url), Database(pg_url)]
    calls: list[str] = []
    schedulers = [
        Scheduler(db, PgAdvisoryLease(pg_url, retry=0.2, heartbeat=0.2), instance=f"replica-{i}")
        for i, db in enumerate(dbs)
    ]
    for i, scheduler in enumerate(schedulers):
        scheduler.add("sync", counting_job(calls, f"replica-{i}"), minutes=10)
        scheduler.add("cleanup", counting_job(calls, f"replica-{i}"), minutes=30)
    for scheduler in schedulers:
        await scheduler.start()
    try:
        assert [s.is_leader for s in schedulers].count(True) == 1
        leader = next(s for s in schedulers if s.is_leader)
        for tick in range(1, 7):  # one hour in 10-minute steps
            clock.advance(minutes=10)
            for scheduler in schedulers:
                scheduler.wakeup()
            await until(lambda t=tick: finished(dbs[0], "sync", t), what=f"sync run {tick}")
        await until(lambda: finished(dbs[0], "cleanup", 2), what="cleanup runs")
        await asyncio.sleep(0.1)  # a duplicate run would have been recorded by now
        sync_runs, cleanup_runs = await runs(dbs[0], "sync"), await runs(dbs[0], "cleanup")
        assert len(sync_runs) == 6 and len(cleanup_runs) == 2
        assert {r.instance for r in sync_runs + cleanup_runs} == {leader.instance}
        assert len(calls) == 8 and set(calls) == {leader.instance}
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
        for db in dbs:
            await db.close()


@pytest.mark.postgres
async def test_leadership_moves_when_the_leader_stops(pg_url: str) -> None:
    db = Database(pg_url)
    a = Scheduler(db, PgAdvisoryLease(pg_url, retry=0.1, heartbeat=0.1), instance="a")
    b = Scheduler(db, PgAdvisoryLease(pg_url, retry=0.1, heartbeat=0.1), instance="b")
    seen: list[bool] = []
    b.lease.subscribe(seen.append)
    await a.start()
    await b.start()
    try:
        assert a.is_leader and not b.is_leader
        await a.stop()
        await asyncio.wait_for(b.lease.wait_leader(), 5)
        assert b.is_leader and seen == [True]
    finally:
        await b.stop()
        await db.close()


def _worker(url: str, items: int, *, kick: bool) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "tests.bot.scheduler.worker", url, str(items)]
    args += ["--kick"] if kick else []
    return subprocess.Popen(args, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.postgres
async def test_a_leader_killed_mid_job_is_replaced_and_resumes_from_its_checkpoint(pg_url: str) -> None:
    items = 40
    db = Database(pg_url)

    async def checkpoint() -> int:
        async with db.session() as s:
            return int(((await get_checkpoint(s, name="work")) or {}).get("next", 0))

    async def lease_sessions() -> int:
        async with db.session() as s:
            from sqlalchemy import text

            q = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'opora-lease'"
            return int((await s.execute(text(q))).scalar_one())

    leader = _worker(pg_url, items, kick=True)
    follower = None
    try:
        await until(lambda: _ge(checkpoint(), 5), within=60, what="the leader to be mid-job")
        follower = _worker(pg_url, items, kick=False)
        await until(lambda: _ge(lease_sessions(), 2), within=60, what="the follower to campaign")
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        killed_at, at = time.monotonic(), await checkpoint()
        assert at == 5
        await until(lambda: finished(db, "work", 2), within=30, what="the follower to finish the job")
        takeover = time.monotonic() - killed_at
        first, second = await runs(db, "work")
        assert first.status == "abandoned" and second.status == "ok"
        assert second.instance != first.instance
        # It resumed from the checkpoint: only the remaining items, each exactly once.
        assert second.counts["items"] == items - at
        async with db.session() as s:
            rows = list((await s.execute(select(Setting).where(Setting.key.like("item:%")))).scalars())
        assert sorted(int(r.key.split(":")[1]) for r in rows) == list(range(items))
        assert takeover < 15
    finally:
        for proc in (leader, follower):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        await db.close()


async def _ge(value: object, n: int) -> bool:
    return await value >= n  # type: ignore[misc, operator]


async def _all_done(db: Database) -> bool:
    return all(r.status != "running" or r.instance.startswith("cli:") for r in await runs(db, "sync"))
