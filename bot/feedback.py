"""Feedback: 👍/👎 from reactions, buttons and the web, one vote per user per answer."""

from __future__ import annotations

import structlog

from bot.errors import InvalidInput, NotFound
from bot.types import Vote
from storage.db import Database
from storage.repositories import feedback, messages, users

log = structlog.get_logger(__name__)
MAX_COMMENT_CHARS = 2000


async def record_vote(db: Database, vote: Vote) -> None:
    """Store ``vote``; a later vote replaces the earlier one, ``value == 0`` withdraws it.

    Raises:
        NotFound: no answer has ``vote.message_id``.
        InvalidInput: the value is not -1, 0 or 1, or the comment is too long.
    """
    if vote.value not in (-1, 0, 1):
        raise InvalidInput("A vote is 1, -1 or 0.", "Оценка — это 1, -1 или 0.")
    if vote.comment is not None and len(vote.comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(
            f"The comment is longer than {MAX_COMMENT_CHARS} characters.",
            f"Комментарий длиннее {MAX_COMMENT_CHARS} символов.",
        )
    async with db.session() as s:
        answer = await messages.get_message(s, message_id=vote.message_id)
        if answer is None or answer.kind != "answer":
            raise NotFound(
                f"There is no answer with id {vote.message_id}.", f"Ответа с номером {vote.message_id} нет."
            )
        user = await users.get_or_create_user(
            s,
            platform=vote.user.platform,
            external_id=vote.user.external_id,
            display_name=vote.user.display_name,
        )
        await feedback.record_vote(
            s,
            message_id=vote.message_id,
            user_id=user.id,
            value=vote.value,
            source=str(vote.source),
            comment=vote.comment or None,
        )
    log.info("feedback.recorded", message_id=vote.message_id, value=vote.value, source=str(vote.source))
