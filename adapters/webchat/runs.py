"""Answers being generated. They belong to the server, not to a socket: a dropped socket does not cancel
one, the engine stores it, and the reconnected client reads it from history."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class Runs:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._active: Counter[str] = Counter()

    def spawn(self, session: str, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``work`` (an answer for conversation ``session``) to completion in the background."""
        self._active[session] += 1

        async def run() -> None:
            try:
                await work
            finally:
                self._active[session] -= 1
                if self._active[session] <= 0:
                    del self._active[session]

        task = asyncio.create_task(run(), name=f"webchat-answer:{session}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def in_progress(self, session: str) -> bool:
        return self._active.get(session, 0) > 0

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace_s: float) -> None:
        """Let running answers finish (within ``grace_s`` seconds), then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("webchat.answers_cancelled", count=len(pending))
            await asyncio.gather(*pending, return_exceptions=True)
