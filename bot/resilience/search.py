"""Search that degrades instead of failing.

When the hybrid search fails (the embedder or the dense side of the store), the question is searched by
BM25 alone and the answer says so. When that fails too (the vector store is down), ``SearchUnavailable`` is
raised; the engine says so, pages through the escalator and tells honestly whether anybody was paged
(``page_notice``), never claiming a page that was not sent. ``mode`` (``hybrid`` / ``bm25`` / ``down``)
is what ``/readyz`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from bot.errors import OporaError
from bot.texts import t
from rag.types import ScoredChunk

log = structlog.get_logger(__name__)
SearchMode = Literal["hybrid", "bm25", "down"]


class SearchUnavailable(OporaError):
    code = "search_unavailable"
    status = 503

    def __init__(self) -> None:
        super().__init__(_down_text("en"), _down_text("ru"))


def _down_text(lang: Literal["en", "ru"]) -> str:
    return f"{t('search_down', lang)} {t('search_down_retry', lang)}"


@dataclass(slots=True)
class DegradedOutcome:
    """A BM25-only result: the engine adds a notice that search is degraded."""

    chunks: Sequence[ScoredChunk]
    passed: bool
    degraded: bool = True


class ResilientRetriever:
    """Wraps the engine's retriever (``retrieve(query, lang=, limit=)``; BM25 via ``mode="sparse"``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.mode: SearchMode = "hybrid"

    def __getattr__(self, name: str) -> Any:  # the cache's clear(), hits, the store, ...
        return getattr(self.inner, name)

    def _set(self, mode: SearchMode, error: BaseException | None = None) -> None:
        if mode != self.mode:
            log.warning("search.mode", mode=mode, error=type(error).__name__ if error else None)
        self.mode = mode

    async def retrieve(
        self, query: str, *, lang: str | None = None, limit: int | None = None, **kwargs: Any
    ) -> Any:
        try:
            outcome = await self.inner.retrieve(query, lang=lang, limit=limit, **kwargs)
        except OporaError:
            raise
        except Exception as error:
            first = error
        else:
            self._set("hybrid")
            return outcome
        try:
            sparse = await self.inner.retrieve(query, lang=lang, limit=limit, mode="sparse")
        except Exception as error:
            self._set("down", error)
            raise SearchUnavailable() from first
        self._set("bm25", first)
        # the calibrated relevance threshold needs the dense cosine: BM25 alone passes on any match, and
        # the answer carries a notice that search is degraded
        return DegradedOutcome(sparse.chunks, bool(sparse.chunks))
