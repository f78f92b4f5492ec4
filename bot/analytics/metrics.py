"""Every KPI, computed once from question and vote records. The definitions are in ``docs/analytics.md``.

Pure functions over ``QuestionRecord``/``VoteRecord`` lists: the routes, the CSV export, the Prometheus
gauges and the tests all call these, so a number means the same everywhere.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bot.analytics.records import EscalationRecord, QuestionRecord, VoteRecord
from bot.analytics.stats import percentile

ANSWERED, ABSTAINED, ESCALATED, NO_ANSWER = "answered", "abstained", "escalated", "no_answer"


def outcome(q: QuestionRecord) -> str:
    """Escalated beats abstained beats answered; a question whose answer was never stored is ``no_answer``."""
    if q.escalated or q.escalated_at is not None:
        return ESCALATED
    if q.answer_id is None:
        return NO_ANSWER
    return ABSTAINED if q.abstained else ANSWERED


def votes_by_answer(votes: Iterable[VoteRecord]) -> dict[int, list[VoteRecord]]:
    out: dict[int, list[VoteRecord]] = defaultdict(list)
    for v in votes:
        out[v.answer_id].append(v)
    return out


def deflected(q: QuestionRecord, votes: Sequence[VoteRecord], window_hours: float = 24.0) -> bool:
    """Answered (so never escalated) and no 👎 within ``window_hours`` of the answer."""
    if outcome(q) != ANSWERED or q.answer_at is None:
        return False
    limit = timedelta(hours=window_hours)
    return not any(v.value < 0 and v.at - q.answer_at <= limit for v in votes)


@dataclass(slots=True)
class Counts:
    """The KPIs of one slice of questions (all, a channel, a day, a role, a variant)."""

    questions: int = 0
    answered: int = 0
    abstained: int = 0
    escalated: int = 0
    no_answer: int = 0
    answers: int = 0
    voted_answers: int = 0
    votes_up: int = 0
    votes_down: int = 0
    deflected: int = 0
    latencies: list[int] = field(default_factory=list)
    ttfts: list[int] = field(default_factory=list)

    def add(self, q: QuestionRecord, votes: Sequence[VoteRecord], window_hours: float) -> None:
        self.questions += 1
        kind = outcome(q)
        setattr(self, kind, getattr(self, kind) + 1)
        if q.answer_id is not None:
            self.answers += 1
            self.voted_answers += bool(votes)
            self.votes_up += sum(1 for v in votes if v.value > 0)
            self.votes_down += sum(1 for v in votes if v.value < 0)
            if q.latency_ms is not None:
                self.latencies.append(q.latency_ms)
            if q.ttft_ms is not None:
                self.ttfts.append(q.ttft_ms)
        self.deflected += deflected(q, votes, window_hours)

    @property
    def satisfaction(self) -> float | None:
        votes = self.votes_up + self.votes_down
        return self.votes_up / votes if votes else None

    @property
    def vote_rate(self) -> float | None:
        return self.voted_answers / self.answers if self.answers else None

    @property
    def deflection_rate(self) -> float | None:
        return self.deflected / self.questions if self.questions else None

    def public(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "answered": self.answered,
            "abstained": self.abstained,
            "escalated": self.escalated,
            "no_answer": self.no_answer,
            "votes_up": self.votes_up,
            "votes_down": self.votes_down,
            "vote_rate": _round(self.vote_rate),
            "satisfaction": _round(self.satisfaction),
            "deflected": self.deflected,
            "deflection_rate": _round(self.deflection_rate),
            "latency_p50_ms": _ms(percentile(self.latencies, 50)),
            "latency_p95_ms": _ms(percentile(self.latencies, 95)),
            "ttft_p50_ms": _ms(percentile(self.ttfts, 50)),
            "ttft_p95_ms": _ms(percentile(self.ttfts, 95)),
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value)


def counts(
    questions: Iterable[QuestionRecord], votes: dict[int, list[VoteRecord]], window_hours: float = 24.0
) -> Counts:
    total = Counts()
    for q in questions:
        total.add(q, votes.get(q.answer_id, []) if q.answer_id else [], window_hours)
    return total


def grouped(
    questions: Iterable[QuestionRecord],
    votes: dict[int, list[VoteRecord]],
    key: Any,
    window_hours: float = 24.0,
) -> dict[Any, Counts]:
    out: dict[Any, Counts] = defaultdict(Counts)
    for q in questions:
        out[key(q)].add(q, votes.get(q.answer_id, []) if q.answer_id else [], window_hours)
    return dict(out)


def summary(
    questions: Sequence[QuestionRecord], votes: Sequence[VoteRecord], *, window_hours: float = 24.0
) -> dict[str, Any]:
    """The stable ``/api/v1/analytics/summary`` body: the totals, plus the same KPIs per channel."""
    by_answer = votes_by_answer(votes)
    body = counts(questions, by_answer, window_hours).public()
    body["by_channel"] = {
        channel: c.public()
        for channel, c in sorted(grouped(questions, by_answer, lambda q: q.channel, window_hours).items())
    }
    return body


def daily(
    questions: Sequence[QuestionRecord],
    votes: Sequence[VoteRecord],
    *,
    start: date,
    end: date,
    window_hours: float = 24.0,
) -> list[dict[str, Any]]:
    """One row per UTC day from ``start`` to ``end`` (empty days included), with questions per channel."""
    by_answer = votes_by_answer(votes)
    per_day = grouped(questions, by_answer, lambda q: q.created_at.date(), window_hours)
    per_channel: dict[date, Counter[str]] = defaultdict(Counter)
    for q in questions:
        per_channel[q.created_at.date()][q.channel] += 1
    rows = []
    day = start
    while day <= end:
        c = per_day.get(day, Counts())
        rows.append({"date": day.isoformat(), **c.public(), "by_channel": dict(per_channel.get(day, {}))})
        day += timedelta(days=1)
    return rows


def roles(
    questions: Sequence[QuestionRecord], votes: Sequence[VoteRecord], *, window_hours: float = 24.0
) -> list[dict[str, Any]]:
    by_answer = votes_by_answer(votes)
    groups = grouped(questions, by_answer, lambda q: q.role, window_hours)
    return [
        {"role": role, **c.public()}
        for role, c in sorted(groups.items(), key=lambda kv: (-kv[1].questions, kv[0]))
    ]


def documents(
    questions: Sequence[QuestionRecord], votes: Sequence[VoteRecord], *, limit: int = 20
) -> dict[str, list[dict[str, Any]]]:
    """Most cited documents (answers that showed them) and most 👎 ones (👎 votes on those answers)."""
    by_answer = votes_by_answer(votes)
    info: dict[str, dict[str, Any]] = {}
    cited: Counter[str] = Counter()
    down: Counter[str] = Counter()
    up: Counter[str] = Counter()
    for q in questions:
        if q.answer_id is None:
            continue
        answer_votes = by_answer.get(q.answer_id, [])
        seen: set[str] = set()
        for src in q.sources:
            doc = str(src.get("doc_id") or src.get("url") or src.get("path") or src.get("title") or "")
            if not doc or doc in seen:
                continue
            seen.add(doc)
            info.setdefault(doc, {k: src.get(k) for k in ("title", "url", "path", "access")})
            cited[doc] += 1
            down[doc] += sum(1 for v in answer_votes if v.value < 0)
            up[doc] += sum(1 for v in answer_votes if v.value > 0)

    def rows(counter: Counter[str]) -> list[dict[str, Any]]:
        ranked = sorted((d for d in counter if counter[d] > 0), key=lambda d: (-counter[d], -cited[d], d))
        return [
            {"doc_id": d, **info[d], "cited": cited[d], "votes_up": up[d], "votes_down": down[d]}
            for d in ranked[:limit]
        ]

    return {"most_cited": rows(cited), "most_downvoted": rows(down)}


def downvote_comments(
    questions: Sequence[QuestionRecord], votes: Sequence[VoteRecord], *, limit: int = 100
) -> list[dict[str, Any]]:
    """👎 votes that came with a comment, newest first, with the question they were about."""
    by_id = {q.answer_id: q for q in questions if q.answer_id is not None}
    rows = []
    for v in votes:
        q = by_id.get(v.answer_id)
        if v.value < 0 and v.comment and q is not None:
            rows.append(
                {
                    "at": v.at.isoformat(),
                    "channel": q.channel,
                    "question": q.text,
                    "comment": v.comment,
                    "user": v.user_key,
                    "answer_id": v.answer_id,
                    "sources": [
                        {k: s.get(k) for k in ("doc_id", "title", "url", "access")} for s in q.sources
                    ],
                }
            )
    rows.sort(key=lambda r: r["at"], reverse=True)
    return rows[:limit]


ESCALATION_STEPS = ("acknowledge", "first_reply", "resolve")


def escalation_times(rows: Sequence[EscalationRecord], *, baseline_minutes: float) -> dict[str, Any]:
    """Minutes from escalation to acknowledgement, first human reply and resolution vs the baseline.

    Per step: how many escalations reached it, p50 and p95 in minutes over those, and the share of all
    escalations that reached it within the baseline (one still waiting counts as not within).
    """
    out: dict[str, Any] = {"escalations": len(rows), "baseline_minutes": baseline_minutes, "steps": {}}
    for step, attr in zip(
        ESCALATION_STEPS, ("acknowledged_at", "first_human_reply_at", "resolved_at"), strict=True
    ):
        minutes = [
            (getattr(r, attr) - r.created_at).total_seconds() / 60
            for r in rows
            if getattr(r, attr) is not None
        ]
        within = sum(1 for m in minutes if m <= baseline_minutes)
        p50, p95 = percentile(minutes, 50), percentile(minutes, 95)
        out["steps"][step] = {
            "reached": len(minutes),
            "p50_minutes": None if p50 is None else round(p50, 1),
            "p95_minutes": None if p95 is None else round(p95, 1),
            "within_baseline": within,
            "within_baseline_rate": _round(within / len(rows)) if rows else None,
        }
    out["by_severity"] = dict(Counter(r.severity for r in rows))
    return out
