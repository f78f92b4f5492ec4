"""Votes that teach: 👍/👎 on an answer move its cited pages for similar questions.

Every vote is kept with the question's vector, the page it judged and that page's version. For a new
question, the votes of similar questions (query cosine at least ``min_similarity``) on its candidate pages
are summed:

- each vote weighs its similarity above the bar, scaled to 0..1, and halves every ``half_life_days``;
- a vote counts only for the page version it judged: an edited page starts afresh;
- one person counts at most one vote per page, whatever they clicked, so one user never buries a page;
- the page's change is ``weight`` × the sum, clipped to ± ``max_boost``: a page moves, it never vanishes.

The change and its reason ("👎 2 similar questions") are shown in the ranking explanation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from rag.boosts import Adjustment, Candidate


@dataclass(frozen=True, slots=True)
class PageVote:
    doc_id: str
    version: int  # the page version the vote judged (0: any)
    value: int  # +1 or -1
    user: str
    at: datetime
    query: np.ndarray  # the question's dense vector (L2-normalised)


@dataclass(frozen=True, slots=True)
class FeedbackWeights:
    weight: float = 0.15
    max_boost: float = 0.3
    half_life_days: float = 30.0
    min_similarity: float = 0.85


class FeedbackBooster:
    """A ``rag.boosts.PageBooster`` over a set of page votes."""

    def __init__(self, votes: Sequence[PageVote], weights: FeedbackWeights, *, now: datetime | None = None):
        self.votes = list(votes)
        self.w = weights
        self.now = now or datetime.now(UTC)
        self._matrix = np.stack([v.query for v in self.votes]).astype(np.float32) if self.votes else None

    @property
    def active(self) -> bool:
        return bool(self.votes) and self.w.weight > 0 and self.w.max_boost > 0

    def _decay(self, at: datetime) -> float:
        if self.w.half_life_days <= 0:
            return 1.0
        age = max(0.0, (self.now - at).total_seconds() / 86400)
        return math.pow(0.5, age / self.w.half_life_days)

    def adjust(self, pages: Sequence[Candidate], query: np.ndarray) -> dict[str, Adjustment]:
        if not self.active or self._matrix is None:
            return {}
        sims = self._matrix @ np.asarray(query, dtype=np.float32)
        close = np.nonzero(sims >= self.w.min_similarity)[0]
        if close.size == 0:
            return {}
        versions: dict[str, tuple[str, int]] = {}  # doc id → (page key, current version)
        for page in pages:
            for c in page.chunks:
                versions[c.doc_id] = (page.key, c.version)
        span = max(1e-6, 1.0 - self.w.min_similarity)
        per_user: dict[tuple[str, str], list[float]] = {}  # (page key, user) → their weighted votes
        counts: dict[tuple[str, int], int] = {}  # (page key, sign) → votes counted
        for i in close:
            vote = self.votes[int(i)]
            if vote.doc_id not in versions:
                continue
            key, current = versions[vote.doc_id]
            if vote.version and vote.version != current:
                continue  # the page changed since: the vote judged another text
            strength = (float(sims[i]) - self.w.min_similarity) / span * self._decay(vote.at)
            per_user.setdefault((key, vote.user), []).append(vote.value * strength)
            counts[(key, vote.value)] = counts.get((key, vote.value), 0) + 1
        total: dict[str, float] = {}
        for (key, _user), values in per_user.items():
            total[key] = total.get(key, 0.0) + sum(values) / len(values)  # one person, one vote
        out: dict[str, Adjustment] = {}
        for key, value in total.items():
            delta = max(-self.w.max_boost, min(self.w.max_boost, self.w.weight * value))
            if abs(delta) < 1e-4:
                continue
            reasons = tuple(
                f"{'👍' if sign > 0 else '👎'} {counts[(key, sign)]} similar question(s)"
                for sign in (1, -1)
                if counts.get((key, sign))
            )
            out[key] = Adjustment(round(delta, 4), reasons)
        return out
