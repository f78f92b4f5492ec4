"""Who is on call now: a weekly rotation in a time zone, and the next person for a re-page."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.escalation.settings import PersonSettings, RotationSettings

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def on_call_index(rotation: RotationSettings, now: datetime) -> int | None:
    """Position in ``rotation.people`` of the person on call at ``now`` (``None`` with nobody listed).

    The first handover at or after ``start`` begins ``people[0]``'s week; each ``handoff_day`` at
    ``handoff_time`` (local time of ``timezone``) the next person takes over, round the list.
    """
    if not rotation.people:
        return None
    tz = ZoneInfo(rotation.timezone)
    hour, minute = (int(x) for x in rotation.handoff_time.split(":", 1))
    start = date.fromisoformat(rotation.start)
    start += timedelta(days=(_DAYS.index(rotation.handoff_day) - start.weekday()) % 7)
    first = datetime.combine(start, time(hour, minute), tzinfo=tz)
    local = now.astimezone(tz)
    weeks = (local - first) // timedelta(weeks=1)
    return int(weeks) % len(rotation.people)


def person_at(rotation: RotationSettings | None, index: int) -> PersonSettings | None:
    if rotation is None or not rotation.people:
        return None
    return rotation.people[index % len(rotation.people)]


def now_utc() -> datetime:
    return datetime.now(UTC)
