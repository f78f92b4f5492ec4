"""What analytics reads back: one row per question (with its answer) and the votes on those answers.

Everything is loaded for a window of question times and computed in Python (``bot.analytics.metrics``),
so every metric has one definition that runs the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.escalation_models import EscalationRow
from storage.models import Conversation, Feedback, Message, User, utcnow


@dataclass(frozen=True, slots=True)
class Window:
    """Questions asked in ``[since, until)`` (UTC), optionally on one channel (platform)."""

    since: datetime
    until: datetime
    channel: str | None = None

    @classmethod
    def last_days(cls, days: int, *, channel: str | None = None, now: datetime | None = None) -> Window:
        end = now or utcnow()
        return cls(end - timedelta(days=days), end, channel)

    @classmethod
    def dates(cls, start: date, end: date, *, channel: str | None = None) -> Window:
        """Whole UTC days from ``start`` to ``end``, both included."""
        since = datetime.combine(start, time.min).replace(tzinfo=UTC)
        return cls(since, datetime.combine(end + timedelta(days=1), time.min).replace(tzinfo=UTC), channel)


@dataclass(slots=True)
class QuestionRecord:
    """A question and what became of it. ``answer_id`` is ``None`` when no answer was stored."""

    id: int
    created_at: datetime
    channel: str
    conversation_id: int
    user_key: str | None  # "<platform>:<external id>" of the asker
    role: str
    text: str
    lang: str | None
    answer_id: int | None = None
    answer_at: datetime | None = None
    abstained: bool = False
    escalated: bool = False
    latency_ms: int | None = None
    ttft_ms: int | None = None
    variant: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    escalated_at: datetime | None = None  # the thread's first escalation at or after the question


@dataclass(frozen=True, slots=True)
class EscalationRecord:
    """One escalated thread's clock (the ``escalations`` table); a ``None`` time has not happened yet."""

    id: int
    created_at: datetime
    acknowledged_at: datetime | None
    first_human_reply_at: datetime | None
    resolved_at: datetime | None
    severity: str
    channel: str
    conversation_id: int | None = None
    question_id: int | None = None


@dataclass(frozen=True, slots=True)
class VoteRecord:
    answer_id: int
    user_key: str
    value: int  # 1 or -1
    comment: str | None
    at: datetime  # when the vote got its current value


async def load_questions(session: AsyncSession, window: Window) -> list[QuestionRecord]:
    answer = aliased(Message)
    stmt = (
        select(Message, Conversation.platform, User.platform, User.external_id, answer)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(User, User.id == Message.user_id)
        .outerjoin(answer, and_(answer.reply_to == Message.id, answer.kind == "answer"))
        .where(
            Message.kind == "question", Message.created_at >= window.since, Message.created_at < window.until
        )
        .order_by(Message.id)
    )
    if window.channel:
        stmt = stmt.where(Conversation.platform == window.channel)
    out: dict[int, QuestionRecord] = {}
    for q, channel, user_platform, external_id, a in (await session.execute(stmt)).all():
        if q.id in out:  # a retried question may have two answer rows: the first one counts
            continue
        record = QuestionRecord(
            id=q.id,
            created_at=q.created_at,
            channel=channel,
            conversation_id=q.conversation_id,
            user_key=f"{user_platform}:{external_id}" if external_id is not None else None,
            role=q.role or "default",
            text=q.text,
            lang=q.lang,
        )
        if a is not None:
            record.answer_id = a.id
            record.answer_at = a.created_at
            record.abstained = bool(a.abstained)
            record.escalated = bool(a.escalated)
            record.latency_ms = a.latency_ms
            record.ttft_ms = a.ttft_ms
            record.variant = a.prompt_variant
            record.sources = list(a.sources or [])
        out[q.id] = record
    return list(out.values())


async def load_votes(session: AsyncSession, window: Window) -> list[VoteRecord]:
    """Votes on the answers to the window's questions (whenever they were cast)."""
    answer, question = aliased(Message), aliased(Message)
    stmt = (
        select(Feedback, User.platform, User.external_id)
        .join(answer, answer.id == Feedback.message_id)
        .join(question, question.id == answer.reply_to)
        .join(Conversation, Conversation.id == question.conversation_id)
        .join(User, User.id == Feedback.user_id)
        .where(question.created_at >= window.since, question.created_at < window.until)
        .order_by(Feedback.id)
    )
    if window.channel:
        stmt = stmt.where(Conversation.platform == window.channel)
    return [
        VoteRecord(f.message_id, f"{platform}:{external}", f.value, f.comment, f.updated_at or f.created_at)
        for f, platform, external in (await session.execute(stmt)).all()
        if f.value in (1, -1)
    ]


async def load_escalations(session: AsyncSession, window: Window) -> list[EscalationRecord]:
    """Escalations created in the window (the thread's clock starts when it is escalated)."""
    stmt = (
        select(EscalationRow)
        .where(EscalationRow.created_at >= window.since, EscalationRow.created_at < window.until)
        .order_by(EscalationRow.id)
    )
    if window.channel:
        stmt = stmt.where(EscalationRow.platform == window.channel)
    return [
        EscalationRecord(
            id=row.id,
            created_at=row.created_at,
            acknowledged_at=row.acknowledged_at,
            first_human_reply_at=row.first_human_reply_at,
            resolved_at=row.resolved_at,
            severity=row.severity,
            channel=row.platform,
            conversation_id=row.conversation_id,
            question_id=row.question_message_id,
        )
        for row in (await session.execute(stmt)).scalars()
    ]


async def attach_escalations(
    session: AsyncSession, questions: list[QuestionRecord], *, window_hours: float
) -> None:
    """Set ``escalated_at`` on each question whose thread was escalated because of it.

    An escalation belongs to the question it names (``question_message_id``); one that names none belongs to
    the latest question of its thread asked before it, if it came within ``window_hours`` of that question.
    """
    if not questions:
        return
    first, last = min(q.created_at for q in questions), max(q.created_at for q in questions)
    stmt = select(EscalationRow).where(
        EscalationRow.created_at >= first, EscalationRow.created_at < last + timedelta(hours=window_hours)
    )
    by_id = {q.id: q for q in questions}
    by_thread: dict[int, list[QuestionRecord]] = {}
    for q in sorted(questions, key=lambda q: q.created_at):
        by_thread.setdefault(q.conversation_id, []).append(q)
    for row in (await session.execute(stmt)).scalars():
        owner = by_id.get(row.question_message_id) if row.question_message_id else None
        if owner is None and row.conversation_id in by_thread:
            before = [q for q in by_thread[row.conversation_id] if q.created_at <= row.created_at]
            if before and row.created_at - before[-1].created_at <= timedelta(hours=window_hours):
                owner = before[-1]
        if owner is not None and (owner.escalated_at is None or row.created_at < owner.escalated_at):
            owner.escalated_at = row.created_at
