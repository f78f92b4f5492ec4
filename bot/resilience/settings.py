"""Settings of load shedding and degraded modes (``settings.resilience``; docs/configuration.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ResilienceSettings(BaseModel):
    # messengers (Slack, Telegram, Mattermost together): answers generated at once, and questions waiting
    max_concurrent_answers: int = Field(default=8, ge=1)
    answer_queue: int = Field(default=100, ge=0)  # beyond it a question is refused politely ("busy")
    post_attempts: int = Field(default=8, ge=1)  # tries of an answer's final post before it is given up
    post_max_delay: float = 60.0  # seconds between two tries at most (backoff honours Retry-After)
    # the database (its pool size is ``database.pool_size`` / ``max_overflow``)
    outbox_size: int = Field(default=1000, ge=0)  # writes kept in memory while the database is down
    db_retry_interval: float = 1.0  # seconds a failed database is not retried by answers
    db_pool_timeout: float = 30.0  # seconds to wait for a free PostgreSQL connection
    db_connect_timeout: float = 5.0  # seconds to open a PostgreSQL connection
    sqlite_busy_timeout: float = 30.0  # seconds SQLite waits for another process's write lock
