"""A controllable clock for APScheduler 3: it reads ``datetime.now`` in ``apscheduler.schedulers.base``
(due jobs, next wake-up) and in the interval and date triggers (an interval starts at "now + interval")."""

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
        import apscheduler.triggers.date as date_trigger
        import apscheduler.triggers.interval as interval_trigger

        clock = self

        class _Datetime(datetime):
            @classmethod
            def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
                return clock.now.astimezone(tz or UTC)

        for module in (base, interval_trigger, date_trigger):
            monkeypatch.setattr(module, "datetime", _Datetime)
