"""Prompt variants stopped or promoted from the analytics page: stored in the database, read by the generator.

A stopped variant gets no new conversations; a promoted one gets all of them. States are cached for a few
seconds per process, so a change reaches every replica within ``ttl`` without a query per answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import structlog

from bot.prompting import Variant
from storage.db import Database
from storage.repositories import variants as repo

log = structlog.get_logger(__name__)
STATUSES = ("active", "stopped", "promoted")


def apply_states(configured: Sequence[Variant], states: dict[str, str]) -> list[Variant]:
    """The variants to draw from: only the promoted one if any, else the configured minus the stopped."""
    promoted = [name for name, status in states.items() if status == "promoted"]
    if promoted:
        return [Variant(promoted[0], 1.0)]
    return [Variant(v.name, 0.0 if states.get(v.name) == "stopped" else v.weight) for v in configured]


class VariantStates:
    def __init__(self, db: Database, *, ttl: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl
        self._states: dict[str, str] = {}
        self._loaded = -float("inf")

    async def states(self) -> dict[str, str]:
        if time.monotonic() - self._loaded > self.ttl:
            try:
                async with self.db.session() as s:
                    self._states = await repo.states(s)
            except Exception:  # the last known states keep answering; the configured weights if none
                log.exception("variants.load_failed")
            self._loaded = time.monotonic()
        return self._states

    async def effective(self, configured: Sequence[Variant]) -> list[Variant]:
        return apply_states(configured, await self.states())

    async def set(self, name: str, status: str, *, by: str | None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown variant status {status!r}")
        async with self.db.session() as s:
            await repo.set_state(s, name=name, status=status, by=by)
        self._loaded = -float("inf")
        log.info("variants.state_set", variant=name, status=status, by=by)
