"""Keeping a question and its answer: in the database, or in the outbox while the database is down.

``begin`` opens the session (history, user, conversation) and stores the question; when the database does
not answer and the outbox has room, the question is answered without history and both are kept for later.
``finish`` stores the answer (also a partial one, when the answer was interrupted); its id is ``None`` when
it went to the outbox (no feedback buttons then: there is no row to vote on yet).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import structlog

from bot.errors import OporaError
from bot.resilience.outbox import Outbox, Write
from bot.sessions import SessionContext, open_session
from bot.types import Answer, Incoming, Lang
from storage.db import Database, DatabaseUnavailable
from storage.repositories import messages

log = structlog.get_logger(__name__)


class StorageUnavailable(OporaError):
    code = "storage_unavailable"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "The bot's storage is unavailable right now, so I cannot answer. "
            "Please try again in a few minutes.",
            "Хранилище бота сейчас недоступно, поэтому ответить я не могу. Попробуйте через несколько минут.",
        )


@dataclass(slots=True)
class Record:
    """One question on its way: its session and stored id (``None`` while kept in the outbox)."""

    ctx: SessionContext
    question_id: int | None
    degraded: bool = False


class AnswerRecorder:
    def __init__(self, db: Database, outbox: Outbox | None = None, *, history_turns: int = 6) -> None:
        self.db = db
        self.outbox = outbox
        self.history_turns = history_turns

    async def begin(self, incoming: Incoming, text: str, lang_hint: Lang | None = None) -> Record:
        async def open_() -> SessionContext:
            return await open_session(
                self.db,
                incoming.user,
                incoming.session,
                history_turns=self.history_turns,
                title=text[:80],
                shareable=incoming.shareable,
            )

        try:
            return Record(await open_(), None)
        except DatabaseUnavailable:
            if self.outbox is not None and self.outbox.reserve():
                log.warning(
                    "answer.degraded", reason="database unavailable", session=incoming.session.as_str()
                )
                return Record(SessionContext(0, 0, incoming.role or "default", None, []), None, degraded=True)
        # No room to keep the question: refuse only after a real probe, since the fail-fast window that
        # follows a failure can outlive an outage that has just ended.
        try:
            await self.db.ping()
            return Record(await open_(), None)
        except DatabaseUnavailable:
            raise StorageUnavailable() from None

    async def store_question(self, turn: Record, text: str, lang: Lang, role: str | None = None) -> None:
        if turn.degraded:
            return
        try:
            async with self.db.session() as s:
                ctx = turn.ctx
                question = await messages.add_question(
                    s,
                    conversation_id=ctx.conversation_id,
                    user_id=ctx.user_id,
                    text=text,
                    lang=lang,
                    role=role,
                )
            turn.question_id = question.id
        except DatabaseUnavailable:
            if self.outbox is None or not self.outbox.reserve():
                raise StorageUnavailable() from None
            turn.degraded = True

    async def finish(self, turn: Record, incoming: Incoming, text: str, answer: Answer) -> int | None:
        """Store ``answer``; its message id, or ``None`` when it was queued in the outbox."""
        fields: dict[str, Any] = {
            "text": answer.text,
            "lang": answer.lang,
            "sources": [asdict(src) for src in answer.sources],
            "latency_ms": answer.latency_ms,
            "ttft_ms": answer.ttft_ms if answer.ttft_ms is not None else answer.latency_ms,
            "provider": answer.provider,
            "prompt_variant": answer.variant,
            "abstained": answer.abstained,
            "escalated": answer.escalated,
        }
        if not turn.degraded:
            assert turn.question_id is not None
            try:
                async with self.db.session() as s:
                    stored = await messages.add_answer(
                        s, conversation_id=turn.ctx.conversation_id, question_id=turn.question_id, **fields
                    )
                return stored.id
            except DatabaseUnavailable:
                if self.outbox is None:
                    raise StorageUnavailable() from None
                self.outbox.put("answer", _answer_write(turn.ctx.conversation_id, turn.question_id, fields))
                return None
        assert self.outbox is not None
        write = _exchange_write(incoming, text, fields, turn.ctx.role)
        self.outbox.put("exchange", write, reserved=True)
        return None

    def abandon(self, turn: Record) -> None:
        """The question was refused before an answer: give back its outbox place."""
        if turn.degraded and self.outbox is not None:
            self.outbox.release()


def _answer_write(conversation_id: int, question_id: int, fields: dict[str, Any]) -> Write:
    async def write(db: Database) -> None:
        async with db.session() as s:
            await messages.add_answer(s, conversation_id=conversation_id, question_id=question_id, **fields)

    return write


def _exchange_write(incoming: Incoming, text: str, fields: dict[str, Any], role: str) -> Write:
    async def write(db: Database) -> None:
        key, shareable = incoming.session, incoming.shareable
        title = text[:80]
        ctx = await open_session(db, incoming.user, key, history_turns=0, title=title, shareable=shareable)
        async with db.session() as s:
            cid = ctx.conversation_id
            question = await messages.add_question(
                s, conversation_id=cid, user_id=ctx.user_id, text=text, lang=fields["lang"], role=role
            )
            await messages.add_answer(s, conversation_id=cid, question_id=question.id, **fields)

    return write
