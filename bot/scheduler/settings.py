"""Settings of the scheduler (``settings.scheduler``): job intervals, the lease, retention."""

from __future__ import annotations

from pydantic import BaseModel, Field


class JobOverride(BaseModel):
    """Per-job override, by job name (``scheduler.jobs.<name>``); unset fields keep the job's default."""

    enabled: bool = True
    minutes: float | None = None  # run every N minutes
    cron: str | None = None  # or on a crontab line (UTC), e.g. "0 3 * * *"


class SchedulerSettings(BaseModel):
    enabled: bool = True  # false: no job runs in this process (a CLI, a worker that only answers)
    folder_rescan_minutes: float = 5.0  # re-read kb.paths; 0 turns the rescan off
    cleanup_cron: str = "30 2 * * *"  # daily cleanup of tables that grow forever
    reconcile_cron: str = "0 3 * * *"  # nightly full reconcile of synced sources
    events_retention_days: float = 7.0  # processed platform event ids kept this long (redelivery window)
    runs_retention_days: float = 30.0  # job and ingest run records kept this long
    lease_retry_seconds: float = 5.0  # a follower tries to take the lease this often
    lease_heartbeat_seconds: float = 5.0  # the leader checks its lease connection this often
    lock_name: str = "opora.scheduler"  # advisory lock name; replicas of one deployment share it
    jobs: dict[str, JobOverride] = Field(default_factory=dict)
