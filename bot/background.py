"""Work a component starts in the background and waits for (or cancels) when it stops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Background:
    """A set of running tasks: ``spawn`` adds one, ``drain`` waits for all, ``stop`` cancels them."""

    def __init__(self) -> None:
        self.running: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
        task = asyncio.create_task(work, name=name)
        self.running.add(task)
        task.add_done_callback(self.running.discard)
        return task

    async def drain(self) -> None:
        """Wait for the work still running (tests, shutdown)."""
        while self.running:
            await asyncio.gather(*list(self.running), return_exceptions=True)

    async def stop(self) -> None:
        tasks = list(self.running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
