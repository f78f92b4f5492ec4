"""``opora eval``: retrieval and answer quality on a JSONL question set (the format of shared/eval).

Each line: ``{"id", "lang", "question", "gold_docs": [paths], "must_contain": [facts],
"expect": "answer" | "abstain" | "escalate"}``. Retrieval is scored by gold document (any listed path
among the distinct documents ranked), answers by their key facts, abstain/escalate by the flags stored
on the answer. Every question runs through the real engine in its own session.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from bot.services import Services
from bot.types import Incoming, Platform, SessionKey, UserRef


class EvalItem(BaseModel):
    id: str
    question: str
    lang: str | None = None
    gold_docs: list[str] = Field(default_factory=list)
    must_contain: list[str] = Field(default_factory=list)
    expect: str = "answer"
    category: str | None = None


@dataclass(slots=True)
class ItemResult:
    item: EvalItem
    ranked_docs: list[str]
    answer: str
    abstained: bool
    escalated: bool
    latency_ms: float

    @property
    def rank(self) -> int | None:
        gold = set(self.item.gold_docs)
        return next((i + 1 for i, d in enumerate(self.ranked_docs) if d in gold), None)

    @property
    def facts_ok(self) -> bool:
        text = self.answer.lower()
        return all(fact.lower() in text for fact in self.item.must_contain)


@dataclass(slots=True)
class Report:
    results: list[ItemResult] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        answerable = [r for r in self.results if r.item.expect == "answer" and r.item.gold_docs]
        with_facts = [r for r in self.results if r.item.expect == "answer" and r.item.must_contain]
        ranks = [r.rank for r in answerable]
        expect_abstain = [r.item.expect == "abstain" for r in self.results]
        did_abstain = [r.abstained and not r.escalated for r in self.results]
        escalations = [r for r in self.results if r.item.expect == "escalate"]
        latencies = np.array([r.latency_ms for r in self.results]) if self.results else np.array([0.0])
        tp = sum(e and d for e, d in zip(expect_abstain, did_abstain, strict=True))
        return {
            "questions": len(self.results),
            "hit@1": _share(sum(1 for k in ranks if k is not None and k <= 1), len(ranks)),
            "hit@5": _share(sum(1 for k in ranks if k is not None and k <= 5), len(ranks)),
            "mrr@10": _share(sum(1.0 / k for k in ranks if k is not None and k <= 10), len(ranks)),
            "answers_with_facts": _share(
                sum(r.facts_ok and not r.abstained for r in with_facts), len(with_facts)
            ),
            "abstain_precision": _share(tp, sum(did_abstain)),
            "abstain_recall": _share(tp, sum(expect_abstain)),
            "escalate_recall": _share(sum(r.escalated for r in escalations), len(escalations)),
            "wrongly_abstained": sum(r.abstained for r in answerable),
            "latency_p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "latency_p95_ms": round(float(np.percentile(latencies, 95)), 1),
        }


def _share(num: float, den: int) -> float:
    return round(num / den, 3) if den else 0.0


def load_items(path: Path) -> list[EvalItem]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                items.append(EvalItem.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not an eval item: {exc}") from exc
    return items


async def evaluate(
    services: Services, items: list[EvalItem], *, on_item: Callable[[ItemResult], None] | None = None
) -> Report:
    report = Report()
    run = uuid.uuid4().hex[:8]
    retriever = services.extras["retriever"]
    for item in items:
        # enough chunks for ten distinct documents under any sane per-document cap
        outcome = await retriever.retrieve(item.question, limit=50)
        ranked: list[str] = []
        for hit in outcome.chunks:
            if hit.chunk.path and hit.chunk.path not in ranked:
                ranked.append(hit.chunk.path)
        incoming = Incoming(
            text=item.question,
            user=UserRef(platform=Platform.CLI, external_id="eval"),
            session=SessionKey(platform=Platform.CLI, channel=f"eval-{run}", thread=item.id),
        )
        started = time.perf_counter()
        answer = await services.engine.ask(incoming)
        result = ItemResult(
            item=item,
            ranked_docs=ranked[:10],
            answer=answer.text,
            abstained=answer.abstained,
            escalated=answer.escalated,
            latency_ms=(time.perf_counter() - started) * 1000,
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
            "facts_ok": r.facts_ok,
            "abstained": r.abstained,
            "escalated": r.escalated,
        }
        for r in report.results
        if (r.item.expect == "answer" and (r.rank != 1 or not r.facts_ok or r.abstained))
        or (r.item.expect == "abstain" and not r.abstained)
        or (r.item.expect == "escalate" and not r.escalated)
    ]
    return json.dumps({"metrics": report.metrics(), "misses": failures}, ensure_ascii=False, indent=2)
