"""Micro-batching of concurrent queries: questions that arrive together share one forward pass.

An isolated query runs at once (no added latency). While a pass is running, new queries queue and go
together in the next one; and when queries keep coming (the previous pass ended less than ``window``
seconds ago), the batcher holds the next pass for ``window`` so that a burst of, say, 20 questions a
second costs a few passes instead of 20.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np


class MicroBatcher:
    """Collects ``submit(text)`` calls into batches for ``encode(list_of_texts)`` run in ``executor``.

    Args:
        encode: Embeds a list of texts; returns one row per text.
        executor: Where ``encode`` runs (never on the event loop).
        window: Seconds to gather more queries when under load.
        max_batch: Texts per pass at most.
    """

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        executor: Executor,
        *,
        window: float = 0.003,
        max_batch: int = 32,
    ) -> None:
        self._encode, self._executor = encode, executor
        self.window, self.max_batch = window, max(1, max_batch)
        self._pending: list[tuple[str, asyncio.Future[np.ndarray]]] = []
        self._worker: asyncio.Task[None] | None = None
        self._last_end = float("-inf")
        self.passes = 0

    async def submit(self, text: str) -> np.ndarray:
        """The embedding of ``text`` (one row of a shared batch)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[np.ndarray] = loop.create_future()
        self._pending.append((text, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            if time.monotonic() - self._last_end < self.window and len(self._pending) < self.max_batch:
                await asyncio.sleep(self.window)  # under load: let the burst gather
            batch = [(t, f) for t, f in self._pending[: self.max_batch] if not f.done()]
            del self._pending[: self.max_batch]
            if not batch:
                continue
            try:
                vecs = await loop.run_in_executor(self._executor, self._encode, [t for t, _ in batch])
            except BaseException as exc:  # every waiter learns the outcome, even on cancellation
                for _, future in batch:
                    if future.done():
                        continue
                    if isinstance(exc, Exception):
                        future.set_exception(exc)
                    else:
                        future.cancel()
                if not isinstance(exc, Exception):
                    raise
            else:
                for (_, future), vec in zip(batch, vecs, strict=True):
                    if not future.done():
                        future.set_result(vec)
            finally:
                self.passes += 1
                self._last_end = time.monotonic()
