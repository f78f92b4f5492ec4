"""``opora eval``: retrieval and answer quality on a JSONL question set (the formats of shared/eval).

Two line formats:

- one question: ``{"id", "lang", "question", "gold_docs": [paths], "must_contain": [facts],
  "expect": "answer" | "abstain" | "escalate", "cross_lingual"?}``;
- one thread: ``{"id", "lang", "turns": [{"question", "gold_docs", "must_contain", "expect"?}, ...]}``.
  The turns are asked in order in one conversation, so every turn after the first is a follow-up.

Every question runs through the real engine. Retrieval is scored twice: by the page ranking of what the
engine searched (``hit@1``, ``hit@5``, ``MRR@10`` over the distinct pages ranked), and by what the user
sees (``sources_hit``: a right page among the answer's sources). Answers are scored by their key facts,
abstain/escalate by the flags stored on the answer. First turns and follow-ups, and the cross-lingual
questions, are also reported apart.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from bot.language import detect_lang
from bot.services import Services
from bot.sessions import open_session
from bot.types import Incoming, Platform, SessionKey, UserRef
from rag.access import AccessScope


class EvalItem(BaseModel):
    id: str
    question: str
    lang: str | None = None
    gold_docs: list[str] = Field(default_factory=list)
    must_contain: list[str] = Field(default_factory=list)
    expect: str = "answer"
    category: str | None = None
    cross_lingual: bool = False
    thread: str | None = None  # the thread it belongs to (multi-turn sets)
    turn: int = 0  # 0: first question of its thread (or a standalone question)


class _Turn(BaseModel):
    question: str
    gold_docs: list[str] = Field(default_factory=list)
    must_contain: list[str] = Field(default_factory=list)
    expect: str = "answer"
    cross_lingual: bool = False


class _Thread(BaseModel):
    id: str
    lang: str | None = None
    category: str | None = None
    turns: list[_Turn]


@dataclass(slots=True)
class ItemResult:
    item: EvalItem
    ranked_docs: list[str]
    answer: str
    abstained: bool
    escalated: bool
    latency_ms: float
    sources: list[str] = field(default_factory=list)  # page paths the answer lists, in order
    query: str = ""  # what the engine searched

    @property
    def rank(self) -> int | None:
        gold = set(self.item.gold_docs)
        return next((i + 1 for i, d in enumerate(self.ranked_docs) if d in gold), None)

    @property
    def source_hit(self) -> bool:
        return not self.abstained and bool(set(self.sources) & set(self.item.gold_docs))

    @property
    def facts_ok(self) -> bool:
        text = self.answer.lower()
        return all(fact.lower() in text for fact in self.item.must_contain)


def _retrieval(results: list[ItemResult]) -> dict[str, float]:
    answerable = [r for r in results if r.item.expect == "answer" and r.item.gold_docs]
    ranks = [r.rank for r in answerable]
    with_facts = [r for r in results if r.item.expect == "answer" and r.item.must_contain]
    return {
        "hit@1": _share(sum(1 for k in ranks if k is not None and k <= 1), len(ranks)),
        "hit@5": _share(sum(1 for k in ranks if k is not None and k <= 5), len(ranks)),
        "mrr@10": _share(sum(1.0 / k for k in ranks if k is not None and k <= 10), len(ranks)),
        "sources_hit": _share(sum(r.source_hit for r in answerable), len(answerable)),
        "answers_with_facts": _share(
            sum(r.facts_ok and not r.abstained for r in with_facts), len(with_facts)
        ),
    }


@dataclass(slots=True)
class Report:
    results: list[ItemResult] = field(default_factory=list)
    calibration: str = ""  # whose abstain calibration was used: builtin | fitted | missing (rag.calibration)

    def metrics(self) -> dict[str, Any]:
        answerable = [r for r in self.results if r.item.expect == "answer" and r.item.gold_docs]
        expect_abstain = [r.item.expect == "abstain" for r in self.results]
        did_abstain = [r.abstained and not r.escalated for r in self.results]
        escalations = [r for r in self.results if r.item.expect == "escalate"]
        latencies = np.array([r.latency_ms for r in self.results]) if self.results else np.array([0.0])
        tp = sum(e and d for e, d in zip(expect_abstain, did_abstain, strict=True))
        answered = [len(r.answer) for r in answerable if not r.abstained]
        out: dict[str, Any] = {"questions": len(self.results), **_retrieval(self.results)}
        out |= {
            "median_answer_chars": int(statistics.median(answered)) if answered else 0,
            "abstain_precision": _share(tp, sum(did_abstain)),
            "abstain_recall": _share(tp, sum(expect_abstain)),
            "escalate_recall": _share(sum(r.escalated for r in escalations), len(escalations)),
            "wrongly_abstained": sum(r.abstained for r in answerable),
            "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1),
        }
        if self.calibration:
            out["calibration"] = self.calibration
        subsets = {
            "first_turns": [r for r in self.results if r.item.thread and r.item.turn == 0],
            "follow_ups": [r for r in self.results if r.item.turn > 0],
            "cross_lingual": [r for r in self.results if r.item.cross_lingual],
        }
        for name, part in subsets.items():
            n = sum(1 for r in part if r.item.expect == "answer" and r.item.gold_docs)
            if n:
                out[name] = {"questions": n, **_retrieval(part)}
        return out


def _share(num: float, den: int) -> float:
    return round(num / den, 3) if den else 0.0


def load_items(path: Path) -> list[EvalItem]:
    """Questions in file order; a thread becomes its turns (``thread`` set, ``turn`` counting from 0)."""
    items: list[EvalItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if isinstance(data, dict) and "turns" in data:
                thread = _Thread.model_validate(data)
                for i, t in enumerate(thread.turns):
                    items.append(
                        EvalItem(
                            id=f"{thread.id}#{i + 1}",
                            lang=thread.lang,
                            category=thread.category,
                            thread=thread.id,
                            turn=i,
                            **t.model_dump(),
                        )
                    )
            else:
                items.append(EvalItem.model_validate(data))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: not an eval item: {exc}") from exc
    return items


def _ranked_pages(outcome: Any) -> list[str]:
    ranked: list[str] = []
    for hit in outcome.chunks:
        if hit.chunk.path and hit.chunk.path not in ranked:
            ranked.append(hit.chunk.path)
    return ranked


async def _search(services: Services, incoming: Incoming, item: EvalItem) -> tuple[str, Any]:
    engine = services.engine
    ctx = await open_session(engine.db, incoming.user, incoming.session, history_turns=engine.history_turns)
    lang = detect_lang(item.question, engine.default_lang)
    scope = await engine.access(incoming) if engine.access is not None else AccessScope()
    return await engine.search(item.question, ctx.history, lang, access=scope)


async def evaluate(
    services: Services, items: list[EvalItem], *, on_item: Callable[[ItemResult], None] | None = None
) -> Report:
    report = Report()
    run = uuid.uuid4().hex[:8]
    current = getattr(services.extras.get("retriever"), "current_calibration", None)
    if current is not None:
        report.calibration = current().source
    for item in items:
        incoming = Incoming(
            text=item.question,
            user=UserRef(platform=Platform.CLI, external_id="eval"),
            session=SessionKey(platform=Platform.CLI, channel=f"eval-{run}", thread=item.thread or item.id),
        )
        # the page ranking the engine builds for this turn (in its thread), ten pages deep
        query, outcome = await _search(services, incoming, item)
        started = time.perf_counter()
        answer = await services.engine.ask(incoming)
        latency = (time.perf_counter() - started) * 1000
        result = ItemResult(
            item=item,
            ranked_docs=_ranked_pages(outcome)[:10],
            answer=answer.text,
            abstained=answer.abstained,
            escalated=answer.escalated,
            latency_ms=latency,
            sources=[s.path for s in answer.sources if s.path],
            query=query,
        )
        report.results.append(result)
        if on_item is not None:
            on_item(result)
    return report


def report_json(report: Report) -> str:
    failures = [
        {
            "id": r.item.id,
            "expect": r.item.expect,
            "rank": r.rank,
            "source_hit": r.source_hit,
            "facts_ok": r.facts_ok,
            "abstained": r.abstained,
            "escalated": r.escalated,
            **({"query": r.query} if r.query != r.item.question else {}),
        }
        for r in report.results
        if (r.item.expect == "answer" and (r.rank != 1 or not r.facts_ok or r.abstained))
        or (r.item.expect == "abstain" and not r.abstained)
        or (r.item.expect == "escalate" and not r.escalated)
    ]
    return json.dumps({"metrics": report.metrics(), "misses": failures}, ensure_ascii=False, indent=2)
