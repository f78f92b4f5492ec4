"""Seeded analytics data with known answers (tests) and a month of demo data (screenshots).

``seed_known`` writes the ten questions of ``docs/analytics.md``'s worked example; the expected figures are
in ``KNOWN``. Rows are written with the ORM and explicit timestamps, as the engine would have stored them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from storage.db import Database
from storage.escalation_models import EscalationRow
from storage.models import Conversation, Feedback, Message, User


@dataclass
class Q:
    channel: str
    outcome: str  # answered | abstained | escalated | none
    latency: int = 0
    ttft: int = 0
    variant: str | None = "control"
    sources: list[tuple[str, float]] = field(default_factory=list)  # (doc id, score)
    votes: list[tuple[int, float, str | None]] = field(default_factory=list)  # (value, hours after, comment)
    role: str | None = None
    text: str = ""
    minutes_ago: int = 0
    lang: str = "en"
    # escalated: minutes from the escalation to acknowledgement, first human reply, resolution (None: not yet)
    escalation: tuple[float | None, float | None, float | None] | None = None


DOCS = {
    "doc-a": ("Deploying with werf", "https://docs.example.com/werf/deploy"),
    "doc-b": ("Helm rollback", "https://docs.example.com/helm/rollback"),
    "doc-c": ("Kafka topics", "https://docs.example.com/kafka/topics"),
    "doc-secret": ("Payroll runbook", "https://wiki.example.com/payroll"),
}
RESTRICTED_DOCS = {"doc-secret": ["user:carol@example.com", "group:finance"]}

KNOWN_QUESTIONS = [
    Q(
        "slack",
        "answered",
        1000,
        200,
        "control",
        [("doc-a", 0.9)],
        [(1, 1, None)],
        "backend",
        "How do I deploy with werf?",
    ),
    Q(
        "slack",
        "answered",
        2000,
        300,
        "control",
        [("doc-a", 0.92), ("doc-b", 0.85)],
        [(-1, 1, "outdated")],
        "backend",
        "How do I roll back a helm release?",
    ),
    Q(
        "slack",
        "answered",
        3000,
        400,
        "concise",
        [("doc-b", 0.85)],
        [],
        "backend",
        "helm rollback to revision 2",
    ),
    Q("slack", "abstained", 500, 100, None, [], [], "devops", "How do I rotate the database password?"),
    Q("slack", "escalated", 4000, 150, None, [], [], "devops", "Production is down, 500 for all users"),
    Q(
        "telegram",
        "answered",
        5000,
        500,
        "concise",
        [("doc-c", 0.6)],
        [(1, 2, None)],
        "devops",
        "What is the retention period of Kafka topics?",
    ),
    Q(
        "telegram",
        "answered",
        6000,
        600,
        "control",
        [("doc-a", 0.95)],
        [(-1, 30, "wrong flag")],
        None,
        "werf converge options",
    ),
    Q("telegram", "abstained", 700, 70, None, [], [], None, "How to rotate the database password?"),
    Q(
        "web",
        "answered",
        8000,
        800,
        "control",
        [("doc-a", 0.88)],
        [(1, 1, None), (1, 3, "great")],
        None,
        "werf deploy to production",
    ),
    Q("web", "none", text="a question whose answer was never stored"),
]

KNOWN: dict[str, Any] = {
    "questions": 10,
    "answered": 6,
    "abstained": 2,
    "escalated": 1,
    "no_answer": 1,
    "votes_up": 4,
    "votes_down": 2,
    "satisfaction": round(4 / 6, 4),
    "vote_rate": round(5 / 9, 4),
    "deflected": 5,
    "deflection_rate": 0.5,
    "latency_p50_ms": 3000,
    "latency_p95_ms": 7200,  # sorted 500..8000: rank 7.6 → 6000 + 0.6 × 2000
    "ttft_p50_ms": 300,
    "ttft_p95_ms": 720,
    "by_channel": {
        "slack": {"questions": 5, "answered": 3, "abstained": 1, "escalated": 1, "deflection_rate": 0.4},
        "telegram": {
            "questions": 3,
            "answered": 2,
            "abstained": 1,
            "escalated": 0,
            "deflection_rate": 0.6667,
        },
        "web": {"questions": 2, "answered": 1, "abstained": 0, "escalated": 0, "deflection_rate": 0.5},
    },
}


async def seed(db: Database, questions: list[Q], now: datetime) -> None:
    """Write ``questions``; question ``i`` is asked ``minutes_ago`` (default ``i + 2`` days) ago."""
    async with db.session() as s:
        users: dict[str, User] = {}

        async def user(platform: str, name: str) -> User:
            key = f"{platform}:{name}"
            if key not in users:
                users[key] = User(platform=platform, external_id=name, display_name=name, role="default")
                s.add(users[key])
                await s.flush()
            return users[key]

        for i, q in enumerate(questions):
            asked = now - (timedelta(minutes=q.minutes_ago) if q.minutes_ago else timedelta(days=i + 2))
            asker = await user(q.channel, f"user{i % 4}")
            conv = Conversation(
                platform=q.channel,
                channel="C1",
                thread=f"t{i}",
                owner_id=asker.id,
                title=q.text,
                created_at=asked,
                updated_at=asked,
            )
            s.add(conv)
            await s.flush()
            question = Message(
                conversation_id=conv.id,
                user_id=asker.id,
                kind="question",
                text=q.text or f"question {i}",
                lang=q.lang,
                sources=[],
                role=q.role,
                created_at=asked,
            )
            s.add(question)
            await s.flush()
            if q.outcome == "none":
                continue
            answered_at = asked + timedelta(milliseconds=q.latency)
            answer = Message(
                conversation_id=conv.id,
                kind="answer",
                reply_to=question.id,
                text="answer",
                lang=q.lang,
                sources=[
                    {
                        "doc_id": d,
                        "title": DOCS[d][0],
                        "url": DOCS[d][1],
                        "path": None,
                        "score": score,
                        "access": RESTRICTED_DOCS.get(d, []),
                    }
                    for d, score in q.sources
                ],
                latency_ms=q.latency,
                ttft_ms=q.ttft,
                provider="fake",
                prompt_variant=q.variant,
                abstained=q.outcome == "abstained",
                escalated=q.outcome == "escalated",
                created_at=answered_at,
            )
            s.add(answer)
            await s.flush()
            if q.escalation is not None:
                ack, reply, resolve = (
                    None if m is None else asked + timedelta(minutes=m) for m in q.escalation
                )
                s.add(
                    EscalationRow(
                        conversation_id=conv.id,
                        platform=conv.platform,
                        channel=conv.channel,
                        thread=conv.thread,
                        question_message_id=question.id,
                        answer_message_id=answer.id,
                        trigger="detector",
                        severity="critical",
                        state="resolved" if resolve else "acknowledged" if ack else "open",
                        created_at=asked,
                        acknowledged_at=ack,
                        first_human_reply_at=reply,
                        resolved_at=resolve,
                    )
                )
            for n, (value, hours, comment) in enumerate(q.votes):
                voter = await user(q.channel, f"voter{n}")
                at = answered_at + timedelta(hours=hours)
                s.add(
                    Feedback(
                        message_id=answer.id,
                        user_id=voter.id,
                        value=value,
                        source="button",
                        comment=comment,
                        created_at=at,
                        updated_at=at,
                    )
                )


def ab_questions(variant: str, answers: int, up: int, down: int) -> list[Q]:
    """``answers`` answered questions of ``variant`` with ``up`` 👍 and ``down`` 👎 (one vote per answer)."""
    out = []
    for i in range(answers):
        vote = [(1, 1.0, None)] if i < up else [(-1, 1.0, None)] if i < up + down else []
        out.append(
            Q(
                "slack",
                "answered",
                1000,
                100,
                variant,
                [("doc-a", 0.9)],
                vote,
                text=f"{variant} q{i}",
                minutes_ago=60 + i,
            )
        )
    return out


DEMO_TOPICS = [
    ("How do I deploy with werf?", "Как задеплоить через werf?", "doc-a", "answered"),
    ("How do I roll back a helm release?", "Как откатить релиз helm?", "doc-b", "answered"),
    ("What is the retention period of Kafka topics?", "Какой срок хранения в топиках Kafka?", "doc-c", "low"),
    ("How do I rotate the database password?", "Как сменить пароль базы данных?", None, "abstained"),
    ("How do I get access to the staging VPN?", "Как получить доступ к VPN стейджинга?", None, "abstained"),
    ("Where are the on-call runbooks?", "Где лежат ранбуки дежурных?", None, "abstained"),
]


def demo_questions(days: int = 30, seed_value: int = 13) -> list[Q]:
    """A month of plausible traffic over three channels, two prompt variants and four roles."""
    rng = random.Random(seed_value)
    out = []
    for day in range(days):
        for _ in range(rng.randint(8, 20)):
            en, ru, doc, kind = rng.choices(DEMO_TOPICS, [6, 5, 3, 2, 1, 1])[0]
            lang = rng.choice(["en", "ru"])
            channel = rng.choices(["slack", "telegram", "web", "mattermost"], [5, 2, 3, 1])[0]
            variant = rng.choice(["control", "concise"])
            outcome = (
                "escalated" if rng.random() < 0.07 else ("answered" if kind in ("answered", "low") else kind)
            )
            votes: list[tuple[int, float, str | None]] = []
            if outcome == "answered" and rng.random() < 0.45:
                good = 0.62 if variant == "control" else 0.8
                value = 1 if rng.random() < good else -1
                votes.append(
                    (
                        value,
                        rng.random() * 4,
                        "the page is outdated" if value < 0 and rng.random() < 0.4 else None,
                    )
                )
            out.append(
                Q(
                    channel,
                    outcome,
                    latency=int(rng.lognormvariate(7.8, 0.5)),
                    ttft=int(rng.lognormvariate(6.2, 0.4)),
                    variant=variant if outcome == "answered" else None,
                    sources=[(doc, 0.62 if kind == "low" else round(rng.uniform(0.82, 0.97), 2))]
                    if doc and outcome == "answered"
                    else [],
                    votes=votes,
                    role=rng.choice([None, "backend", "frontend", "devops", "qa"]),
                    text=ru if lang == "ru" else en,
                    minutes_ago=day * 1440 + rng.randint(1, 1400),
                    lang=lang,
                    escalation=_escalation_clock(rng, day) if outcome == "escalated" else None,
                )
            )
    return out


def _escalation_clock(rng: random.Random, day: int) -> tuple[float | None, float | None, float | None]:
    ack = rng.lognormvariate(2.0, 0.6)  # ~7 min
    reply = ack + rng.lognormvariate(2.3, 0.7)  # ~10 min later
    resolve = reply + rng.lognormvariate(4.2, 0.8)  # ~1 h later
    return (ack, reply, resolve if day > 0 else None)
