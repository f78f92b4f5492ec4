"""The answer cache: a small in-process LRU in front of a shared store, so replicas share answers.

Key = normalized question + ids and versions of the retrieved chunks + prompt (variant, role, language)
+ model (the router's chain). An entry remembers the versions of the documents it cites; when any of them
differs from the versions now retrieved, the entry is stale: it is not served and is deleted.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from providers import metrics

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class StoredAnswer:
    """What the shared store keeps per key (``value`` is JSON: text, provider, variant, cited...)."""

    value: dict[str, Any]
    doc_versions: dict[str, Any]
    model: str | None
    expires_at: datetime


class CacheStore(Protocol):
    """The shared store (the lead's SQL table ``answer_cache``); expired entries are never returned."""

    async def get(self, key: str) -> StoredAnswer | None: ...

    async def put(self, key: str, answer: StoredAnswer) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryCacheStore:
    """An in-memory ``CacheStore`` for tests and single-process runs."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.entries: dict[str, StoredAnswer] = {}
        self._clock = clock

    async def get(self, key: str) -> StoredAnswer | None:
        entry = self.entries.get(key)
        if entry is None or entry.expires_at.timestamp() <= self._clock():
            return None
        return entry

    async def put(self, key: str, answer: StoredAnswer) -> None:
        self.entries[key] = answer

    async def delete(self, key: str) -> None:
        self.entries.pop(key, None)


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    text: str
    provider: str
    variant: str | None
    cited: tuple[int, ...] = ()
    abstained: bool = False
    doc_versions: dict[str, int] = field(default_factory=dict)  # cited documents → version


_SPACES = re.compile(r"\s+")
_TRAILING = re.compile(r"[\s?!.…]+$")


def normalize_question(text: str) -> str:
    return _TRAILING.sub("", _SPACES.sub(" ", text.strip().casefold()))


def cache_key(*, question: str, chunks: Iterable[tuple[str, int]], prompt: str, model: str) -> str:
    payload = [normalize_question(question), sorted(chunks), prompt, model]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


class AnswerCache:
    """LRU (per process) over a ``CacheStore`` (shared). Store failures degrade to a miss, never an error."""

    def __init__(
        self,
        store: CacheStore,
        *,
        ttl: float = 86_400.0,
        lru_size: int = 512,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.lru_size = lru_size
        self._clock = clock
        self._lru: OrderedDict[str, tuple[float, CachedAnswer]] = OrderedDict()

    async def get(self, key: str, current_versions: Mapping[str, int]) -> CachedAnswer | None:
        """The cached answer, unless missing, expired or citing a document whose version changed."""
        hit = self._lru.get(key)
        answer: CachedAnswer | None = None
        if hit is not None and hit[0] > self._clock():
            self._lru.move_to_end(key)
            answer = hit[1]
        else:
            self._lru.pop(key, None)
            answer = await self._from_store(key)
        if answer is None:
            metrics.cache_lookups.labels("miss").inc()
            return None
        if any(current_versions.get(doc, version) != version for doc, version in answer.doc_versions.items()):
            metrics.cache_lookups.labels("stale").inc()
            await self.invalidate(key)
            return None
        metrics.cache_lookups.labels("hit").inc()
        return answer

    async def put(self, key: str, answer: CachedAnswer, *, model: str) -> None:
        expires = self._clock() + self.ttl
        self._remember(key, expires, answer)
        value = {
            "text": answer.text,
            "provider": answer.provider,
            "variant": answer.variant,
            "cited": list(answer.cited),
            "abstained": answer.abstained,
        }
        stored = StoredAnswer(value, dict(answer.doc_versions), model, datetime.fromtimestamp(expires, UTC))
        try:
            await self.store.put(key, stored)
        except Exception:
            log.warning("answer_cache.store_put_failed", exc_info=True)

    async def invalidate(self, key: str) -> None:
        self._lru.pop(key, None)
        try:
            await self.store.delete(key)
        except Exception:
            log.warning("answer_cache.store_delete_failed", exc_info=True)

    async def _from_store(self, key: str) -> CachedAnswer | None:
        try:
            stored = await self.store.get(key)
        except Exception:
            log.warning("answer_cache.store_get_failed", exc_info=True)
            return None
        if stored is None:
            return None
        v = stored.value
        answer = CachedAnswer(
            text=str(v.get("text", "")),
            provider=str(v.get("provider", "")),
            variant=v.get("variant"),
            cited=tuple(int(n) for n in v.get("cited", [])),
            abstained=bool(v.get("abstained", False)),
            doc_versions={str(k): int(n) for k, n in stored.doc_versions.items()},
        )
        self._remember(key, stored.expires_at.timestamp(), answer)
        return answer

    def _remember(self, key: str, expires: float, answer: CachedAnswer) -> None:
        self._lru[key] = (expires, answer)
        self._lru.move_to_end(key)
        while len(self._lru) > self.lru_size:
            self._lru.popitem(last=False)
