"""Erasing raw user text past its retention: question text, 👎 comments, conversation titles made from them.

Rows stay (counts, latencies, votes and outcomes still add up in analytics); only the words go.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, Feedback, Message


async def erase_user_text(session: AsyncSession, *, before: datetime) -> dict[str, int]:
    """Blank questions asked, comments written and titles of conversations last active before ``before``."""
    questions = await session.execute(
        update(Message)
        .where(Message.kind == "question", Message.created_at < before, Message.text != "")
        .values(text="")
    )
    comments = await session.execute(
        update(Feedback)
        .where(Feedback.updated_at < before, Feedback.comment.is_not(None))
        .values(comment=None)
    )
    titles = await session.execute(
        update(Conversation)
        .where(Conversation.updated_at < before, Conversation.title.is_not(None))
        .values(title=None)
    )
    return {
        "questions": questions.rowcount or 0,
        "comments": comments.rowcount or 0,
        "titles": titles.rowcount or 0,
    }
