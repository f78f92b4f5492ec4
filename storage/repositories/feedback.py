"""Feedback: one vote per user per answer; the later replaces the earlier; 0 withdraws."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Feedback, utcnow
from storage.repositories._upsert import insert_for


async def record_vote(
    session: AsyncSession,
    *,
    message_id: int,
    user_id: int,
    value: int,
    source: str,
    comment: str | None = None,
) -> None:
    if value == 0:
        await session.execute(
            delete(Feedback).where(Feedback.message_id == message_id, Feedback.user_id == user_id)
        )
        return
    now = utcnow()
    insert = insert_for(session, Feedback).values(
        message_id=message_id,
        user_id=user_id,
        value=value,
        source=source,
        comment=comment,
        created_at=now,
        updated_at=now,
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["message_id", "user_id"],
            set_={"value": value, "source": source, "comment": comment, "updated_at": now},
        )
    )


async def get_vote(session: AsyncSession, *, message_id: int, user_id: int) -> Feedback | None:
    stmt = select(Feedback).where(Feedback.message_id == message_id, Feedback.user_id == user_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def votes_for_messages(
    session: AsyncSession, *, message_ids: list[int], user_id: int
) -> dict[int, Feedback]:
    if not message_ids:
        return {}
    stmt = select(Feedback).where(Feedback.message_id.in_(message_ids), Feedback.user_id == user_id)
    return {f.message_id: f for f in (await session.execute(stmt)).scalars()}
