"""Messages: questions and answers with their sources, latency, provider and outcome."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, Message, utcnow


async def add_question(
    session: AsyncSession,
    *,
    conversation_id: int,
    user_id: int | None,
    text: str,
    lang: str | None,
    role: str | None = None,
) -> Message:
    msg = Message(
        conversation_id=conversation_id,
        user_id=user_id,
        kind="question",
        text=text,
        lang=lang,
        sources=[],
        role=role,
    )
    session.add(msg)
    await session.flush()
    return msg


async def add_answer(
    session: AsyncSession,
    *,
    conversation_id: int,
    question_id: int,
    text: str,
    lang: str,
    sources: list[dict[str, Any]],
    latency_ms: int,
    ttft_ms: int | None = None,
    provider: str | None,
    prompt_variant: str | None,
    abstained: bool,
    escalated: bool,
) -> Message:
    msg = Message(
        conversation_id=conversation_id,
        user_id=None,
        kind="answer",
        reply_to=question_id,
        text=text,
        lang=lang,
        sources=sources,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        provider=provider,
        prompt_variant=prompt_variant,
        abstained=abstained,
        escalated=escalated,
    )
    session.add(msg)
    await session.flush()
    return msg


async def get_message(session: AsyncSession, *, message_id: int) -> Message | None:
    return await session.get(Message, message_id)


async def recent_messages(session: AsyncSession, *, conversation_id: int, limit: int) -> list[Message]:
    """The last ``limit`` messages of a conversation, oldest first."""
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return list(reversed(list((await session.execute(stmt)).scalars())))


async def conversation_messages(session: AsyncSession, *, conversation_id: int) -> list[Message]:
    stmt = select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    return list((await session.execute(stmt)).scalars())


async def answer_to(session: AsyncSession, *, question_id: int) -> Message | None:
    stmt = select(Message).where(Message.reply_to == question_id, Message.kind == "answer")
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()


async def set_platform_ref(session: AsyncSession, *, message_id: int, platform_ref: str) -> None:
    await session.execute(update(Message).where(Message.id == message_id).values(platform_ref=platform_ref))


async def find_by_platform_ref(session: AsyncSession, *, platform: str, platform_ref: str) -> Message | None:
    """The answer posted on a platform as message ``platform_ref`` (reactions point at it)."""
    stmt = (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.platform == platform, Message.platform_ref == platform_ref)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def popular_questions(
    session: AsyncSession, *, days: int, limit: int, now: datetime | None = None
) -> list[tuple[str, int]]:
    """Questions (case-folded) of the last ``days`` days asked in shareable conversations, with the number of
    distinct people who asked each, most people first. DMs, private channels and API calls never count."""
    since = (now or utcnow()) - timedelta(days=days)
    key = func.lower(func.trim(Message.text))
    people = func.count(func.distinct(Message.user_id))
    stmt = (
        select(func.min(Message.text), people)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.kind == "question", Message.created_at >= since, Conversation.shareable.is_(True))
        .group_by(key)
        .order_by(people.desc(), func.min(Message.id).desc())
        .limit(limit)
    )
    return [(text, count) for text, count in (await session.execute(stmt)).all()]
