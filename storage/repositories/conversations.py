"""Conversations: one per platform + channel + thread root."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, Message, utcnow
from storage.repositories._upsert import insert_for


async def get_or_create_conversation(
    session: AsyncSession,
    *,
    platform: str,
    channel: str,
    thread: str,
    owner_id: int | None = None,
    title: str | None = None,
    shareable: bool = False,
) -> Conversation:
    stmt = select(Conversation).where(
        Conversation.platform == platform, Conversation.channel == channel, Conversation.thread == thread
    )
    conv = (await session.execute(stmt)).scalar_one_or_none()
    if conv is None:
        now = utcnow()
        insert = insert_for(session, Conversation).values(
            platform=platform,
            channel=channel,
            thread=thread,
            owner_id=owner_id,
            title=title[:255] if title else None,
            shareable=shareable,
            deleted=False,
            created_at=now,
            updated_at=now,
        )
        await session.execute(insert.on_conflict_do_nothing(index_elements=["platform", "channel", "thread"]))
        conv = (await session.execute(stmt)).scalar_one()
    return conv


async def find_conversation(
    session: AsyncSession, *, platform: str, channel: str, thread: str
) -> Conversation | None:
    stmt = select(Conversation).where(
        Conversation.platform == platform,
        Conversation.channel == channel,
        Conversation.thread == thread,
        Conversation.deleted.is_(False),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_conversation(session: AsyncSession, *, conversation_id: int) -> Conversation | None:
    conv = await session.get(Conversation, conversation_id)
    return None if conv is None or conv.deleted else conv


async def touch_conversation(session: AsyncSession, *, conversation_id: int) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(updated_at=utcnow())
    )


async def list_conversations(
    session: AsyncSession, *, owner_id: int, search: str | None = None, limit: int = 100
) -> list[Conversation]:
    """The owner's live conversations, newest first; ``search`` matches titles and question texts."""
    stmt = select(Conversation).where(Conversation.owner_id == owner_id, Conversation.deleted.is_(False))
    if search:
        pattern = f"%{search.lower()}%"
        in_messages = select(Message.conversation_id).where(func.lower(Message.text).like(pattern))
        stmt = stmt.where(func.lower(Conversation.title).like(pattern) | Conversation.id.in_(in_messages))
    stmt = stmt.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(limit)
    return list((await session.execute(stmt)).scalars())


async def rename_conversation(session: AsyncSession, *, conversation_id: int, title: str) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(title=title[:255])
    )


async def delete_conversation(session: AsyncSession, *, conversation_id: int) -> None:
    """Soft delete: the conversation disappears for its owner; answers stay for analytics."""
    await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(deleted=True))


async def archive_conversation(session: AsyncSession, *, conversation_id: int) -> None:
    """Free the conversation's key so the same channel/thread starts afresh (the ``new`` command)."""
    conv = await session.get(Conversation, conversation_id)
    if conv is not None:
        conv.thread = f"{conv.thread}#archived-{conv.id}"[:255]
        await session.flush()
