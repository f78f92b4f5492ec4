"""A small per-process cache whose entries expire: people's profiles (name, e-mail) and channel types.

A messenger's profile lookup is one API call per event without it; with it, a person's e-mail is asked
for again after ``ttl`` seconds, so a changed or removed e-mail stops counting within that time.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """Up to ``max_size`` entries, each kept ``ttl`` seconds (the oldest goes first when full)."""

    def __init__(self, ttl: float, *, max_size: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V) -> None:
        if self.ttl <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (self._clock() + self.ttl, value)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)
