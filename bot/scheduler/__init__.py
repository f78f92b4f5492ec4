"""Scheduled jobs in the serving process, run by exactly one replica (the leader) each time.

Registering a job (the whole API most parts need)::

    from bot.scheduler import JobContext

    async def repage(ctx: JobContext) -> dict[str, int]:
        ...                                   # do the work
        ctx.count("paged")                    # counters end up in the run record
        return {"checked": 12}                # (or return them; both are merged)

    services.scheduler.add("escalation.repage", repage, minutes=1)   # every minute
    services.scheduler.add("analytics.digest", digest, cron="0 8 * * *")   # crontab line, UTC
    services.scheduler.add("x", f, seconds=30) / add("x", f, trigger=<any APScheduler 3 trigger>)

Built-in and optional jobs are registered in ``bot.scheduler.jobs.register_jobs`` (add your line there).
``scheduler.jobs.<name>`` in the settings overrides a job's schedule (``minutes`` / ``cron``) or turns it
off (``enabled: false``), whatever the code registered.

What the scheduler guarantees:

- Timing is APScheduler 3 (``AsyncIOScheduler``, UTC); a late run runs once (coalesced), never twice at once.
- Only the leader runs a job (``every_replica=True`` opts out, for per-process state such as an embedded
  index). PostgreSQL: leadership is an advisory lock on a dedicated connection (``lease.PgAdvisoryLease``);
  a killed leader is replaced within about ``scheduler.lease_retry_seconds``. SQLite: one process, it leads.
- Every run is a ``job_runs`` row (job, instance, start, end, status ``ok|failed|interrupted|abandoned``,
  counts, error), shown by ``opora jobs`` and ``/readyz``.
- Checkpoints: ``await ctx.load_checkpoint()`` / ``await ctx.save_checkpoint({...})`` keep where a long
  job got to. When a leader dies mid-run, the next leader marks that run ``abandoned`` and runs the job
  again at once, so it resumes from the checkpoint.

Leadership for other components (e.g. a long-polling or websocket consumer that must run in one replica)::

    lease = services.scheduler.lease
    lease.is_leader                          # now
    await lease.wait_leader()                # until this process leads
    lease.subscribe(lambda leader: ...)      # called with True / False on every change (may be async)
"""

from bot.scheduler.core import JobContext, JobSpec, Scheduler, make_trigger
from bot.scheduler.lease import Lease, LocalLease, PgAdvisoryLease, lease_for
from bot.scheduler.settings import JobOverride, SchedulerSettings

__all__ = [
    "JobContext",
    "JobOverride",
    "JobSpec",
    "Lease",
    "LocalLease",
    "PgAdvisoryLease",
    "Scheduler",
    "SchedulerSettings",
    "lease_for",
    "make_trigger",
]


def build_scheduler(settings, db):  # type: ignore[no-untyped-def]
    """The scheduler for ``settings`` over ``db`` (jobs are registered by ``jobs.register_jobs``)."""
    cfg = settings.scheduler
    lease = lease_for(
        settings.resolved_database_url,
        name=cfg.lock_name,
        retry=cfg.lease_retry_seconds,
        heartbeat=cfg.lease_heartbeat_seconds,
    )
    return Scheduler(db, lease, overrides=cfg.jobs)
