"""A small LRU + TTL cache in front of the retriever: a popular question is searched once a minute.

Retrieval is the CPU-heavy part of an answer (query embedding and ranking). Questions repeat (the web chat
suggests popular ones, teams ask the same thing in different threads), so identical searches within the
TTL share one result. The cache is per process; an ingest in this process clears it at once, and the TTL
bounds staleness after another replica's ingest.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

from prometheus_client import Counter

from bot.engine import RetrievalOutcome, Retriever
from rag.access import AccessScope

lookups = Counter("opora_retrieval_cache_total", "Retrieval cache lookups by result", ["result"])


class CachedRetriever:
    """Wraps a ``Retriever``; concurrent identical searches wait for one computation."""

    def __init__(self, inner: Retriever, *, size: int = 1024, ttl: float = 60.0) -> None:
        self.inner = inner
        self.size = size
        self.ttl = ttl
        self._entries: OrderedDict[tuple[Any, ...], tuple[float, asyncio.Future[RetrievalOutcome]]] = (
            OrderedDict()
        )
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name: str) -> Any:  # expose the inner retriever's extras (config, store, ...)
        return getattr(self.inner, name)

    def clear(self) -> None:
        self._entries.clear()

    async def retrieve(
        self,
        query: str,
        *,
        lang: str | None = None,
        limit: int | None = None,
        access: AccessScope | None = None,
        **kwargs: Any,
    ) -> RetrievalOutcome:
        if kwargs or self.size <= 0:
            return await self.inner.retrieve(query, lang=lang, limit=limit, access=access, **kwargs)
        # Whose search it is belongs to the key: one person's restricted passages never serve another.
        scope = access.key() if access is not None else ()
        key = (" ".join(query.split()).casefold(), lang, limit, scope)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl and not entry[1].cancelled():
            self._entries.move_to_end(key)
            self.hits += 1
            lookups.labels("hit").inc()
            return await asyncio.shield(entry[1])
        self.misses += 1
        lookups.labels("miss").inc()
        future: asyncio.Future[RetrievalOutcome] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, future)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        try:
            result = await self.inner.retrieve(query, lang=lang, limit=limit, access=access)
        except BaseException as exc:
            self._entries.pop(key, None)
            if not future.done():
                future.set_exception(exc)
                future.exception()  # mark retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        future.set_result(result)
        return result
