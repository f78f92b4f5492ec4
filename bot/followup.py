"""Follow-ups: a message inside a thread becomes a standalone search before retrieval.

"can it also be recreated on every deploy?" means nothing to a search engine; "werf: our smoke-test Job
should disappear once it succeeds. which annotation does that?" before it does. But "unrelated: our app
version 1.10 shows up as 1.1" starts a new topic, and gluing the previous question onto it drowns it.

- With a language model configured, the model rewrites the message into a standalone question from the
  thread's history (``LLMCondenser``: short timeout; on any failure the offline method decides).
- Offline, retrieval itself decides (``FollowUpSearch``): the message is searched bare and together with
  the thread's previous question, and the two page rankings are fused (reciprocal rank), the thread's
  ranking weighing ``thread_weight`` as much as the bare one. A message that stands alone keeps its own
  best pages on top (the thread's query also finds them, as the new words carry it); a message that
  leans on the thread gets the pages both queries agree on. The weight was chosen by 2-fold
  cross-validation over the dev threads (``python -m bench.followup_cv``). With a gate set
  (``gate_best``), the message is searched alone first and a confident result skips the thread's search
  (``python -m bench.followup_gate``; on by default, ``ranking.followup.gate_best``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from bot.generation import Turn
from providers.base import ChatMessage, ChatRequest, LLMProvider, ProviderError
from rag.retrieval import page_key

log = structlog.get_logger(__name__)

RRF_K = 10  # few pages matter: the top of each ranking dominates


class Outcome(Protocol):
    chunks: Sequence[Any]
    passed: bool


class Search(Protocol):
    async def __call__(self, query: str) -> Outcome: ...


@dataclass(slots=True)
class Fused:
    """A retrieval outcome made of two: chunks of the fused page order, the bare query's threshold."""

    chunks: list[Any]
    passed: bool
    best: float = 0.0
    why: dict[str, tuple[str, ...]] = field(default_factory=dict)


def confidence(outcome: Outcome) -> tuple[float, float]:
    """``(best, margin)`` of a search: its calibrated best relevance, and its first page's relevance minus
    its second's (a page's relevance: its best passage's; translations of a page count as one page)."""
    top: dict[str, float] = {}
    for hit in outcome.chunks:
        key = page_key(hit.chunk)
        if key in top or len(top) < 2:
            top[key] = max(top.get(key, 0.0), hit.score)
    first, second = [*top.values(), 0.0, 0.0][:2]
    return getattr(outcome, "best", 0.0), first - second


def previous_question(history: Sequence[Turn]) -> str | None:
    return next((turn.text for turn in reversed(history) if turn.role == "user"), None)


def fuse_pages(bare: Outcome, thread: Outcome, thread_weight: float) -> Fused:
    """Chunks of both outcomes in the order of their fused page ranking (reciprocal rank per page).

    Each page shows the passages of the outcome that ranked it higher. The relevance decision is the
    better of the two: a follow-up whose words alone find nothing may still be answerable in its thread.
    """
    score: dict[str, float] = {}
    best_rank: dict[str, tuple[int, int]] = {}  # doc → (rank, which outcome)
    for which, (outcome, weight) in enumerate(((bare, 1.0), (thread, thread_weight))):
        docs = list(dict.fromkeys(h.chunk.doc_id for h in outcome.chunks))
        for rank, doc in enumerate(docs):
            score[doc] = score.get(doc, 0.0) + weight / (RRF_K + rank + 1)
            if doc not in best_rank or rank < best_rank[doc][0]:
                best_rank[doc] = (rank, which)
    sources = (bare, thread)
    chunks: list[Any] = []
    for doc in sorted(score, key=lambda d: -score[d]):
        chunks.extend(h for h in sources[best_rank[doc][1]].chunks if h.chunk.doc_id == doc)
    best = max(getattr(bare, "best", 0.0), getattr(thread, "best", 0.0))
    why = {**getattr(thread, "why", {}), **getattr(bare, "why", {})}
    return Fused(chunks, bare.passed or thread.passed, best, why)


class LLMCondenser:
    """Rewrites a follow-up into a standalone question with a language model, within ``timeout`` seconds."""

    PROMPT = (
        "Rewrite the user's last message as one standalone search question, using the conversation only "
        "to resolve what it refers to. If the message already stands alone or changes the topic, return it "
        "unchanged. Keep its language, product names, commands, flags and identifiers. Reply with the "
        "question only."
    )

    def __init__(self, llm: LLMProvider, *, timeout: float = 3.0, max_tokens: int = 120) -> None:
        self.llm, self.timeout, self.max_tokens = llm, timeout, max_tokens

    async def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """The standalone question, or ``None`` when the model failed or took too long."""
        thread = "\n".join(f"{t.role}: {t.text[:600]}" for t in history[-6:])
        loop = asyncio.get_running_loop()
        request = ChatRequest(
            [
                ChatMessage("system", self.PROMPT),
                ChatMessage("user", f"Conversation:\n{thread}\n\nLast message: {question}"),
            ],
            max_tokens=self.max_tokens,
            temperature=0.0,
            deadline=loop.time() + self.timeout,
        )
        try:
            result = await asyncio.wait_for(self.llm.complete(request), self.timeout)
        except (ProviderError, TimeoutError) as exc:
            log.info("followup.llm_failed", reason=type(exc).__name__)
            return None
        text = " ".join(result.text.split()).strip().strip('"«»')
        return text if 0 < len(text) <= 4 * len(question) + 400 else None


class FollowUpSearch:
    """Searches a message in the light of its thread (see the module docstring).

    Args:
        thread_weight: The thread query's share in the fused page ranking (0: the message alone).
        margin: When set, choose instead of fusing: the thread's search unless the message alone is more
            relevant by more than ``-margin`` (``bench.followup_cv``: margin −0.1 chosen on both folds).
        gate_best: When set, the message is searched bare first, and when that search is confident
            (``confidence``: best ≥ ``gate_best`` and margin ≥ ``gate_margin``) it is the answer: the
            thread's search is skipped (``bench.followup_gate``).
        gate_margin: The bare search's lead of its first page over its second needed to skip.
        condenser: An ``LLMCondenser`` when a language model is configured.
    """

    def __init__(
        self,
        *,
        thread_weight: float = 1.0,
        margin: float | None = None,
        gate_best: float | None = None,
        gate_margin: float = 0.0,
        condenser: LLMCondenser | None = None,
    ) -> None:
        self.thread_weight = thread_weight
        self.margin = margin
        self.gate_best, self.gate_margin = gate_best, gate_margin
        self.condenser = condenser

    async def search(self, question: str, history: Sequence[Turn], run: Search) -> tuple[str, Outcome]:
        """``(query searched, outcome)`` for ``question`` asked after ``history``."""
        previous = previous_question(history)
        if previous is None:
            return question, await run(question)
        if self.condenser is not None:
            rewritten = await self.condenser.condense(question, history)
            if rewritten:
                log.debug("followup.condensed", how="llm")
                return rewritten, await run(rewritten)
        if self.thread_weight <= 0:
            return question, await run(question)
        joined = f"{previous}\n{question}"
        bare = await run(question)  # first, alone: when it is confident the thread's search never runs
        if self.gate_best is not None:
            best, lead = confidence(bare)
            if best >= self.gate_best and lead >= self.gate_margin:
                log.debug("followup.gated", best=round(best, 3), margin=round(lead, 3))
                return question, bare
        thread = await run(joined)
        if self.margin is not None:  # choose by evidence: the thread's search unless the message alone is
            # clearly more relevant (a new topic)
            gain = getattr(thread, "best", 0.0) - getattr(bare, "best", 0.0)
            return (joined, thread) if gain > self.margin else (question, bare)
        return joined, fuse_pages(bare, thread, self.thread_weight)
