"""A controllable clock for APScheduler 3: it reads ``datetime.now`` in ``apscheduler.schedulers.base``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest


class ManualClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import apscheduler.schedulers.base as base

        clock = self

        class _Datetime(datetime):
            @classmethod
            def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
                return clock.now.astimezone(tz or UTC)

        monkeypatch.setattr(base, "datetime", _Datetime)
