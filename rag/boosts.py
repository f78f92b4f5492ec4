"""Page adjustments from outside the text: the asker's role, other people's votes.

A ``PageBooster`` looks at the candidate pages of one question (after the text evidence is pooled per page)
and returns bounded score changes with the reasons to show. Scores of pages are min-max normalised over
the candidates (the best passage is 1.0), so an adjustment of 0.1 is a tenth of the distance between the
best and the worst candidate: enough to reorder close pages, never enough to lift an unrelated one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.types import Chunk


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate page: its pooling key, its versions (by doc id) and their best passages."""

    key: str
    chunks: tuple[Chunk, ...]  # the best passage of each version among the candidates

    @property
    def doc_ids(self) -> tuple[str, ...]:
        return tuple(c.doc_id for c in self.chunks)


@dataclass(frozen=True, slots=True)
class Adjustment:
    delta: float  # added to the page's score
    reasons: tuple[str, ...] = ()  # shown in the ranking explanation


class PageBooster(Protocol):
    """Bounded page-score changes for one question (``query``: its dense vector)."""

    def adjust(self, pages: Sequence[Candidate], query: np.ndarray) -> dict[str, Adjustment]: ...


def combine(
    boosters: Sequence[PageBooster], pages: Sequence[Candidate], query: np.ndarray
) -> dict[str, Adjustment]:
    """The boosters' adjustments summed per page key."""
    out: dict[str, Adjustment] = {}
    for booster in boosters:
        for key, adj in booster.adjust(pages, query).items():
            prev = out.get(key, Adjustment(0.0))
            out[key] = Adjustment(prev.delta + adj.delta, prev.reasons + adj.reasons)
    return out
