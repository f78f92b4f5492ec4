"""Documentation gaps: the questions Opora could not answer well, grouped by meaning.

A gap question is one that abstained, or was answered while its best source scored under
``analytics.low_confidence``. Questions are embedded with the project's embedder (its worker threads, off the
event loop) and grouped by average-linkage agglomerative clustering on cosine distance (scipy), cut at
``analytics.gap_distance``: a question joins a group when its mean distance to the group's questions is under
the threshold. Each group gets its size, example questions and the nearest pages the retriever finds for its
most central question — the list a docs owner works through.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import structlog

from bot.analytics.metrics import ABSTAINED, ANSWERED, outcome
from bot.analytics.records import QuestionRecord
from bot.engine import Retriever
from rag.access import AccessScope

log = structlog.get_logger(__name__)
MAX_QUESTIONS = 2000  # newest distinct gap questions clustered (the linkage matrix grows as n²)


class QueryEmbedder(Protocol):
    async def embed_query(self, text: str) -> np.ndarray: ...


PageFinder = Retriever  # gaps look up pages the way the engine does


def best_score(q: QuestionRecord) -> float | None:
    scores = [float(s["score"]) for s in q.sources if isinstance(s.get("score"), int | float)]
    return max(scores) if scores else None


def gap_reason(q: QuestionRecord, low_confidence: float) -> str | None:
    """``abstained`` or ``low_confidence`` for a gap question, else ``None``."""
    if not q.text.strip():  # erased by the retention job
        return None
    kind = outcome(q)
    if kind == ABSTAINED:
        return "abstained"
    if kind == ANSWERED:
        score = best_score(q)
        if score is not None and score < low_confidence:
            return "low_confidence"
    return None


def cluster(vectors: np.ndarray, distance: float) -> list[int]:
    """Group labels (0..k-1) of L2-normalised ``vectors``: average linkage, cut at cosine ``distance``."""
    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        return [0]
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    labels = fcluster(tree, t=distance, criterion="distance")
    remap: dict[int, int] = {}
    return [remap.setdefault(int(label), len(remap)) for label in labels]


@dataclass(slots=True)
class Gap:
    size: int  # gap questions in the group (repeats counted)
    abstained: int
    low_confidence: int
    examples: list[str]
    channels: dict[str, int]
    last_asked: datetime
    question_ids: list[int] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "abstained": self.abstained,
            "low_confidence": self.low_confidence,
            "examples": self.examples,
            "channels": self.channels,
            "last_asked": self.last_asked.isoformat(),
            "pages": self.pages,
        }


async def find_gaps(
    questions: Sequence[QuestionRecord],
    *,
    embedder: QueryEmbedder,
    pages: PageFinder | None,
    access: AccessScope | None = None,
    low_confidence: float = 0.8,
    distance: float = 0.1,
    min_size: int = 1,
    limit: int = 50,
    examples: int = 5,
    page_count: int = 3,
) -> list[Gap]:
    """The gap groups of ``questions``, largest first (ties: the most recently asked first)."""
    gap_qs = [(q, r) for q in questions if (r := gap_reason(q, low_confidence)) is not None]
    if not gap_qs:
        return []
    by_text: dict[str, list[tuple[QuestionRecord, str]]] = {}
    for q, reason in sorted(gap_qs, key=lambda p: p[0].created_at, reverse=True):
        by_text.setdefault(" ".join(q.text.casefold().split()), []).append((q, reason))
    texts = list(by_text)[:MAX_QUESTIONS]
    shown = [by_text[t][0][0].text for t in texts]
    vectors = np.stack([await embedder.embed_query(text) for text in shown])
    labels = await asyncio.to_thread(cluster, vectors, distance)

    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    groups: list[tuple[Gap, str, str | None]] = []
    for idx in members.values():
        items = [item for i in idx for item in by_text[texts[i]]]
        if len(items) < min_size:
            continue
        sub = vectors[idx]
        central = idx[int(np.argmax((sub @ sub.T).mean(axis=1)))]
        counts = Counter({i: len(by_text[texts[i]]) for i in idx})
        ordered = sorted(idx, key=lambda i: (-counts[i], i != central, i))
        gap = Gap(
            size=len(items),
            abstained=sum(1 for _, r in items if r == "abstained"),
            low_confidence=sum(1 for _, r in items if r == "low_confidence"),
            examples=[shown[i] for i in ordered[:examples]],
            channels=dict(Counter(q.channel for q, _ in items)),
            last_asked=max(q.created_at for q, _ in items),
            question_ids=sorted(q.id for q, _ in items),
        )
        groups.append((gap, shown[central], by_text[texts[central]][0][0].lang))
    groups = sorted(groups, key=lambda g: (-g[0].size, -g[0].last_asked.timestamp()))[:limit]
    if pages is not None:
        for gap, question, lang in groups:
            gap.pages = await nearest_pages(pages, question, lang, page_count, access)
    return [g for g, _, _ in groups]


async def nearest_pages(
    pages: PageFinder, question: str, lang: str | None, count: int, access: AccessScope | None = None
) -> list[dict[str, Any]]:
    """The best distinct pages the retriever finds for ``question`` (whatever their score), among those
    ``access`` may read (``None``: public pages only)."""
    try:
        outcome_ = await pages.retrieve(question, lang=lang, limit=max(count * 3, count), access=access)
    except Exception:  # a failing index must not take the gaps list down
        log.exception("gaps.nearest_pages_failed")
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for hit in outcome_.chunks:
        chunk = hit.chunk
        if chunk.doc_id in seen:
            continue
        seen.add(chunk.doc_id)
        out.append(
            {
                "doc_id": chunk.doc_id,
                "title": chunk.title,
                "url": chunk.url,
                "path": chunk.path,
                "score": round(float(hit.score), 4),
                "access": list(getattr(chunk, "access", []) or []),
            }
        )
        if len(out) >= count:
            break
    return out
