"""Recent query vectors, shared by everyone who embeds the same question.

One question is embedded by several parts of the core: retrieval, the incident detector, the captured
answers' matcher. Each asks the embedder for the same text within milliseconds, and a forward pass of the
bundled model is the largest CPU cost of a question. ``QueryCache`` wraps any ``Embedder``: the first
caller's forward pass serves the others (also while it is still running), and a bounded LRU keeps the most
recent questions. Passages are not cached (an ingest embeds each once).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.types import Embedder


class QueryCache:
    """An ``Embedder`` that remembers the last ``size`` query vectors of ``inner``.

    Args:
        inner: The embedder that computes vectors.
        size: How many distinct query texts are kept (each ``dim`` float32 values).
    """

    def __init__(self, inner: Embedder, *, size: int = 2048) -> None:
        self.inner = inner
        self.size = size
        self.name, self.dim = inner.name, inner.dim
        self._entries: OrderedDict[str, asyncio.Future[np.ndarray]] = OrderedDict()
        self.hits = self.misses = 0  # observed by tests

    def __getattr__(self, attr: str) -> Any:  # close(), aclose(), forward_passes, ... of the inner embedder
        return getattr(self.inner, attr)

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return await self.inner.embed_passages(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        """The vector of ``text``: remembered, being computed for another caller, or computed now."""
        future = self._entries.get(text)
        if future is not None and not _failed(future):
            self._entries.move_to_end(text)
            self.hits += 1
        else:
            self.misses += 1
            future = asyncio.ensure_future(self.inner.embed_query(text))
            self._entries[text] = future
            future.add_done_callback(lambda f: self._forget_failed(text, f))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        # a caller that gives up (a timeout) does not cancel the pass the others wait for
        return (await asyncio.shield(future)).copy()

    def _forget_failed(self, text: str, future: asyncio.Future[np.ndarray]) -> None:
        if _failed(future) and self._entries.get(text) is future:
            del self._entries[text]


def _failed(future: asyncio.Future[np.ndarray]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)
