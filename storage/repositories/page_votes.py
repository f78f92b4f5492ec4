"""Votes with what they judged: the question, the answer and its sources (``bot.feedback_learning``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Feedback, Message


@dataclass(frozen=True, slots=True)
class VotedAnswer:
    value: int
    user_id: int
    at: datetime
    question: str
    answer: str
    sources: list[dict[str, Any]]


async def voted_answers(session: AsyncSession, *, limit: int = 20_000) -> list[VotedAnswer]:
    """The most recent ``limit`` votes (withdrawn votes are deleted rows, so never returned)."""
    answer, question = aliased(Message), aliased(Message)
    stmt = (
        select(
            Feedback.value, Feedback.user_id, Feedback.updated_at, question.text, answer.text, answer.sources
        )
        .join(answer, answer.id == Feedback.message_id)
        .join(question, question.id == answer.reply_to)
        .where(Feedback.value != 0)
        .order_by(Feedback.updated_at.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    return [VotedAnswer(int(v), int(u), at, q or "", a or "", list(s or [])) for v, u, at, q, a, s in rows]
