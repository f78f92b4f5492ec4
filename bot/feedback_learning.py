"""Feedback that teaches: the stored votes as a ranking booster (``rag.feedback_boost``).

A vote judges the pages its answer cited ([n] in the text; the first page when it cites none), in the
versions the answer drew on. The question's vector says which future questions are similar. Votes are
read from the database (so every replica learns from every vote), refreshed at most every
``refresh_seconds``, and the question vectors are embedded once per distinct question.
"""

from __future__ import annotations

import time
from datetime import UTC

import numpy as np
import structlog

from bot.grounding import cited_passages
from rag.feedback_boost import FeedbackBooster, FeedbackWeights, PageVote
from rag.types import Embedder
from storage.db import Database
from storage.repositories.page_votes import VotedAnswer, voted_answers

log = structlog.get_logger(__name__)


def judged_pages(row: VotedAnswer) -> list[tuple[str, int]]:
    """``(doc id, version)`` of the pages a voted answer cited."""
    sources = [s for s in row.sources if isinstance(s, dict) and s.get("doc_id")]
    cited = cited_passages(row.answer, len(sources)) or ((1,) if sources else ())
    return [(str(sources[n - 1]["doc_id"]), int(sources[n - 1].get("version") or 0)) for n in cited]


class FeedbackMemory:
    """The votes of all users as a ``FeedbackBooster``, refreshed from the database."""

    def __init__(
        self,
        db: Database,
        embedder: Embedder,
        weights: FeedbackWeights,
        *,
        refresh_seconds: float = 30.0,
        max_votes: int = 20_000,
    ) -> None:
        self.db, self.embedder, self.weights = db, embedder, weights
        self.refresh_seconds, self.max_votes = refresh_seconds, max_votes
        self._vectors: dict[str, np.ndarray] = {}
        self._booster: FeedbackBooster | None = None
        self._loaded = -float("inf")

    def invalidate(self) -> None:
        """Read the votes again on the next question (a vote was just recorded in this process)."""
        self._loaded = -float("inf")

    async def booster(self) -> FeedbackBooster | None:
        if time.monotonic() - self._loaded >= self.refresh_seconds:
            await self.reload()
        return self._booster if self._booster is not None and self._booster.active else None

    async def reload(self) -> None:
        async with self.db.session() as s:
            rows = await voted_answers(s, limit=self.max_votes)
        votes: list[PageVote] = []
        for row in rows:
            text = row.question.strip()
            if not text:
                continue
            if text not in self._vectors:
                self._vectors[text] = np.asarray(await self.embedder.embed_query(text), dtype=np.float32)
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
            for doc_id, version in judged_pages(row):
                votes.append(
                    PageVote(
                        doc_id, version, 1 if row.value > 0 else -1, str(row.user_id), at, self._vectors[text]
                    )
                )
        self._booster = FeedbackBooster(votes, self.weights)
        self._loaded = time.monotonic()
        log.debug("feedback.reloaded", votes=len(votes))
