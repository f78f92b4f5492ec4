"""Leader-only work follows the scheduler's lease (a PostgreSQL advisory lock): one replica runs it, and it
moves when the lease moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.leader import Leader
from bot.scheduler.lease import LocalLease, PgAdvisoryLease, asyncpg_dsn, lock_key
from tests.conftest import _create_pg_database, _drop_pg_database, _pg_available


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    reason = await _pg_available()
    if reason:
        pytest.skip(reason)
    url = await _create_pg_database()
    try:
        yield url
    finally:
        await _drop_pg_database(url)


async def until(predicate, what: str, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Job:
    """Leader-only work that records when it runs and when it is cancelled."""

    def __init__(self) -> None:
        self.running = False
        self.starts = 0
        self.cancels = 0

    async def __call__(self) -> None:
        self.running, self.starts = True, self.starts + 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancels += 1
            raise
        finally:
            self.running = False


def test_a_single_process_always_leads() -> None:
    assert Leader().is_leader and Leader(LocalLease()).is_leader  # SQLite: no lease to win


async def test_work_runs_in_the_single_leader_and_stops_with_it() -> None:
    leader, job = Leader(), Job()
    leader.lead("job", job)
    await until(lambda: job.running, "the job")
    await leader.stop()
    assert (job.starts, job.cancels, job.running) == (1, 1, False)


def lease(url: str, name: str) -> PgAdvisoryLease:
    return PgAdvisoryLease(url, name=name, retry=0.1, heartbeat=0.1)


@pytest.mark.postgres
async def test_one_leader_among_replicas_and_failover_moves_the_work(pg_url: str) -> None:
    first = Leader(lease(pg_url, "t"), start_lease=True)
    second = Leader(lease(pg_url, "t"), start_lease=True)
    jobs = Job(), Job()
    first.lead("poll", jobs[0])
    second.lead("poll", jobs[1])
    await first.start()
    await second.start()
    try:
        await until(lambda: jobs[0].running, "the first leader's job")
        assert first.is_leader and not second.is_leader
        for _ in range(5):  # the follower keeps trying and keeps failing while the leader lives
            await asyncio.sleep(0.1)
            assert not second.is_leader and not jobs[1].running
        await first.stop()  # the lock is released with its connection
        assert (jobs[0].running, jobs[0].cancels) == (False, 1)
        await until(lambda: second.is_leader and jobs[1].running, "the second replica taking over", within=5)
    finally:
        await first.stop()
        await second.stop()
    assert jobs[1].cancels == 1


@pytest.mark.postgres
async def test_a_leader_that_loses_its_database_session_stops_its_work(pg_url: str) -> None:
    import asyncpg

    leader, job = Leader(lease(pg_url, "t2"), start_lease=True), Job()
    leader.lead("poll", job)
    await leader.start()
    try:
        await until(lambda: job.running, "the job")
        admin = await asyncpg.connect(asyncpg_dsn(pg_url))
        try:  # the server ends the leader's session, as after a network partition or a failover
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
                lock_key("t2") & 0xFFFFFFFF,
            )
        finally:
            await admin.close()
        # the work is cancelled with the lost lock, and starts again once the lock is taken anew (the
        # stop and the restart can fall within one lease step: no gap need be visible from outside)
        await until(lambda: job.cancels == 1, "the job stopped")
        await until(lambda: leader.is_leader and job.running, "leadership regained after reconnecting")
        assert (job.starts, job.cancels) == (2, 1)
    finally:
        await leader.stop()
