"""Per-user question rate limit: a sliding one-minute window, kept in this process."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from adapters.webchat.texts import both
from bot.errors import RateLimited


class UserRateLimiter:
    """At most ``per_minute`` questions per user in any 60 s window.

    Each replica counts on its own: behind a load balancer with sticky WebSockets a user meets one replica.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}

    def check(self, user_id: int) -> None:
        """Count one question for ``user_id``; raises ``RateLimited`` when over the limit."""
        if self.per_minute <= 0:
            return
        now = self.clock()
        window = self._seen.setdefault(user_id, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            retry = max(1, int(60.0 - (now - window[0])) + 1)
            en, ru = both("rate_limited", limit=self.per_minute, seconds=retry)
            raise RateLimited(en, ru, retry_after=retry)
        window.append(now)
        if len(self._seen) > 10_000:  # forget idle users so the map stays small
            self._seen = {k: v for k, v in self._seen.items() if v and now - v[-1] < 60.0}
