"""The conversation engine: one question in, one streamed, grounded answer out.

message → session (user, conversation, history) → incident check → retrieval → generator → stored answer.
Adapters call ``stream`` (or ``ask`` for the whole answer at once) and render the events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol

import structlog

from bot.boosting import Boosts
from bot.errors import InvalidInput
from bot.escalation import (
    NOT_PAGED,
    CriticalDetector,
    Escalation,
    Escalator,
    PageOutcome,
    Verdict,
    page_notice,
)
from bot.escalation.capture import CapturedHit, CapturedKnowledge
from bot.escalation.second_opinion import Pending, SecondOpinion
from bot.followup import FollowUpSearch
from bot.generation import AnswerGenerator, GenerationDone, GenerationRequest, Notice, TextDelta, Turn
from bot.language import detect_lang, reply_lang
from bot.resilience.recording import AnswerRecorder, Record
from bot.resilience.search import SearchUnavailable
from bot.sessions import SessionContext, open_session
from bot.sources import answer_passages, group_pages
from bot.texts import t
from bot.types import (
    Answer,
    AnswerDelta,
    AnswerEnd,
    AnswerEvent,
    AnswerNotice,
    AnswerSources,
    AnswerStart,
    Incoming,
    Lang,
    Passage,
    Source,
)
from rag.access import AccessScope
from rag.types import ScoredChunk
from storage.db import Database
from storage.repositories import messages
from storage.repositories.escalations import set_message_severity

log = structlog.get_logger(__name__)


class RetrievalOutcome(Protocol):
    chunks: Sequence[ScoredChunk]
    passed: bool  # something cleared the relevance threshold


class Retriever(Protocol):
    async def retrieve(
        self,
        query: str,
        *,
        lang: str | None = None,
        limit: int | None = None,
        access: AccessScope | None = None,
    ) -> RetrievalOutcome: ...


AccessResolver = Callable[[Incoming], Awaitable[AccessScope]]  # who may see restricted pages (rag.access)


class IndexProgress(Protocol):
    @property
    def partial(self) -> bool: ...

    @property
    def percent(self) -> int: ...


def to_passage(hit: ScoredChunk) -> Passage:
    c = hit.chunk
    return Passage(
        chunk_id=c.chunk_id,
        doc_id=c.doc_id,
        text=c.text,
        title=c.title,
        section=c.section,
        url=c.url,
        path=c.path,
        lang=c.lang,
        score=round(hit.score, 4),
        version=c.version,
        access=tuple(c.access),
    )


def captured_source(hit: CapturedHit) -> Source:
    return Source(
        title=hit.question[:120],
        url=None,
        path=f"captured/{hit.entry_id}",
        score=round(hit.score, 4),
        section=hit.answered_by,
        doc_id=f"captured:{hit.entry_id}",
    )


class Engine:
    """Answers questions; the one place where session, retrieval, generation and storage meet."""

    def __init__(
        self,
        *,
        db: Database,
        retriever: Retriever,
        generator: AnswerGenerator,
        escalator: Escalator,
        detector: CriticalDetector | None,
        index: IndexProgress | None = None,
        max_question_chars: int = 4000,
        history_turns: int = 6,
        top_k: int = 5,
        passages_per_page: int = 3,
        default_lang: Lang = "en",
        access: AccessResolver | None = None,
        contact: str = "",
        recorder: AnswerRecorder | None = None,
        captured: CapturedKnowledge | None = None,
        followups: FollowUpSearch | None = None,
        boosts: Boosts | None = None,
        second_opinion: SecondOpinion | None = None,
    ) -> None:
        self.db = db
        self.access = access  # None: public passages only, for everyone
        self.retriever = retriever
        self.generator = generator
        self.escalator = escalator
        self.detector = detector
        self.index = index
        self.max_question_chars = max_question_chars
        self.history_turns = history_turns
        self.top_k = top_k  # distinct pages among the sources
        self.passages_per_page = passages_per_page
        self.default_lang = default_lang
        self.contact = contact  # how to reach a human when nobody could be paged
        self.recorder = recorder or AnswerRecorder(db, history_turns=history_turns)
        self.captured = captured  # reviewed answers from resolved escalations, answered first
        self.followups = followups or FollowUpSearch()
        self.boosts = boosts or Boosts()
        self.second_opinion = second_opinion  # the LLM's judgement beside the answer (provider configured)

    def validate(self, text: str, lang: Lang | None = None) -> str:
        """The question stripped; raises ``InvalidInput`` when empty or over the limit."""
        lang = lang or detect_lang(text, self.default_lang)
        cleaned = text.replace("\x00", "").strip()
        if not cleaned:
            raise InvalidInput(t("empty_question", "en"), t("empty_question", "ru"))
        if len(cleaned) > self.max_question_chars:
            kwargs = {"length": len(cleaned), "limit": self.max_question_chars}
            raise InvalidInput(t("question_too_long", "en", **kwargs), t("question_too_long", "ru", **kwargs))
        return cleaned

    async def ask(self, incoming: Incoming) -> Answer:
        """The whole answer at once."""
        answer: Answer | None = None
        async for event in self.stream(incoming):
            if isinstance(event, AnswerEnd):
                answer = event.answer
        assert answer is not None
        return answer

    async def stream(self, incoming: Incoming) -> AsyncIterator[AnswerEvent]:
        """Answer ``incoming`` as events: start, deltas, notices, sources, end (with the stored ids).

        The answer is stored however the stream ends: completed, failed mid-way, or abandoned by its
        consumer (what was generated so far is kept). While the database is down it is answered without
        history and kept in the outbox (``message_id`` is then ``None``).
        """
        started = time.perf_counter()
        text = self.validate(incoming.text, incoming.lang)
        turn = await self.recorder.begin(incoming, text)
        ctx = turn.ctx
        lang = reply_lang(incoming.lang, ctx.language, text, self.default_lang)
        role = incoming.role or ctx.role
        try:
            await self.recorder.store_question(turn, text, lang, role)
        except BaseException:
            self.recorder.abandon(turn)
            raise
        session_id = None if turn.degraded else ctx.conversation_id
        yield AnswerStart(session_id=session_id, lang=lang)

        answer = Answer(text="", sources=[], lang=lang, session_id=session_id)
        stored = False
        pending: Pending | None = None
        try:
            if turn.degraded:  # the user is told: no history, and the answer is kept for later
                answer.notice = t("storage_degraded", lang)
                yield AnswerNotice(answer.notice)
            verdict = await self._assess(text, incoming, ctx.conversation_id, turn.question_id)
            if verdict is not None and verdict.critical:
                answer.escalated = True
                outcome = await self._escalate(
                    incoming, ctx, text, "detector", verdict.reasons, turn.question_id, verdict.severity
                )
                notice = page_notice(outcome, lang, incident=True, contact=self.contact)
                answer.text += notice + "\n\n"
                yield AnswerDelta(notice + "\n\n")
            elif verdict is not None and not turn.degraded:  # the LLM may see an incident (in the background)
                pending = self._second_look(incoming, ctx, text, turn.question_id, verdict, lang)

            if answer.text:
                answer.ttft_ms = int((time.perf_counter() - started) * 1000)
            captured = None
            if self.captured is not None:  # also for an incident: what fixed it last time
                captured = await self.captured.match(text)
            if captured is not None:  # a reviewed human answer to a near-duplicate question comes first
                answer.provider = "captured"
                answer.text += captured.render(lang)
                answer.sources = [captured_source(captured)]
                answer.ttft_ms = answer.ttft_ms or int((time.perf_counter() - started) * 1000)
                yield AnswerDelta(captured.render(lang))
                yield AnswerSources(answer.sources)
            else:
                async for event in self._answer_from_docs(text, lang, role, ctx, incoming, answer):
                    if answer.ttft_ms is None and isinstance(event, AnswerDelta) and event.text:
                        answer.ttft_ms = int((time.perf_counter() - started) * 1000)
                    yield event

            late = pending.take() if pending is not None else None
            if late:  # the second opinion paged (or tried to) while the answer was being written
                answer.escalated = True
                answer.notice = f"{answer.notice}\n{late}" if answer.notice else late
                yield AnswerNotice(late)
            answer.latency_ms = int((time.perf_counter() - started) * 1000)
            answer.message_id = await self.recorder.finish(turn, incoming, text, answer)
            stored = True
        finally:
            if pending is not None and self.second_opinion is not None:
                self.second_opinion.abandon(pending, incoming.session)  # a notice not shown: to the thread
            if not stored:  # failed or abandoned mid-answer: keep what the user may already have seen
                await self._keep_interrupted(turn, incoming, text, answer, started)
        log.info(
            "answer.sent",
            session=incoming.session.as_str(),
            message_id=answer.message_id,
            latency_ms=answer.latency_ms,
            provider=answer.provider,
            abstained=answer.abstained,
            escalated=answer.escalated,
            sources=len(answer.sources),
        )
        yield AnswerEnd(answer)

    async def _keep_interrupted(
        self, turn: Record, incoming: Incoming, text: str, answer: Answer, started: float
    ) -> None:
        if not answer.text.strip():  # nothing was shown: the question stays, unanswered
            self.recorder.abandon(turn)
            return
        answer.latency_ms = int((time.perf_counter() - started) * 1000)
        answer.provider = answer.provider or "interrupted"
        try:
            answer.message_id = await asyncio.shield(self.recorder.finish(turn, incoming, text, answer))
            log.warning("answer.interrupted", message_id=answer.message_id, chars=len(answer.text))
        except BaseException:  # the original error is what the caller must see
            log.exception("answer.interrupted_not_stored", session=incoming.session.as_str())

    async def _answer_from_docs(
        self, text: str, lang: Lang, role: str, ctx: SessionContext, incoming: Incoming, answer: Answer
    ) -> AsyncIterator[AnswerEvent]:
        # rank by the language the question is written in (the reply language may be a preference)
        scope = await self.access(incoming) if self.access is not None else AccessScope()
        try:
            answer.query, outcome = await self.search(
                text, ctx.history, detect_lang(text, lang), role=role, access=scope
            )
        except SearchUnavailable:  # say so, page if possible, and say honestly whether anyone was
            answer.abstained, answer.provider = True, "none"
            paged = await self._escalate(incoming, ctx, text, "search_unavailable", (), None, "normal")
            reach = page_notice(paged, lang, incident=False, contact=self.contact)
            said = f"{t('search_down', lang)} {reach}"
            answer.text += said
            yield AnswerDelta(said)
            return
        if getattr(outcome, "degraded", False):
            answer.notice = t("search_degraded", lang)
            yield AnswerNotice(answer.notice)
        if self.index is not None and self.index.partial:
            answer.notice = t("partial_index", lang, percent=self.index.percent)
            yield AnswerNotice(answer.notice)
        if not outcome.passed or not outcome.chunks:
            answer.abstained = True
            answer.provider = "none"
            if not answer.escalated:
                answer.text += t("abstain", lang)
                yield AnswerDelta(t("abstain", lang))
            return
        why = getattr(outcome, "why", None) or {}
        pages = group_pages([to_passage(hit) for hit in outcome.chunks], self.top_k, why)
        passages = answer_passages(pages, 2 * self.top_k)
        shown = {p.doc_id for page in pages for p in page.passages}
        answer.restricted = any(hit.chunk.access for hit in outcome.chunks if hit.chunk.doc_id in shown)
        request = GenerationRequest(
            question=text,
            lang=lang,
            role=role,
            passages=passages,
            history=ctx.history,
            conversation_key=incoming.session.as_str(),
            partial_index=bool(self.index and self.index.partial),
        )
        async for event in self.generator.generate(request):
            if isinstance(event, TextDelta):
                answer.text += event.text
                yield AnswerDelta(event.text)
            elif isinstance(event, Notice):
                answer.notice = f"{answer.notice}\n{event.text}" if answer.notice else event.text
                yield AnswerNotice(event.text)
            elif isinstance(event, GenerationDone):
                answer.provider, answer.variant = event.provider, event.variant
                answer.abstained = answer.abstained or event.abstained
        # every page is listed, cited or not: users judge the answer by the pages it offers
        answer.sources = [page.source() for page in pages]
        yield AnswerSources(answer.sources)

    async def search(
        self,
        text: str,
        history: list[Turn],
        lang: Lang,
        *,
        role: str | None = None,
        limit: int | None = None,
        access: AccessScope | None = None,
    ) -> tuple[str, RetrievalOutcome]:
        """What a question finds in its thread: ``(query searched, ranked passages)``.

        Enough passages for ten distinct pages unless ``limit`` says otherwise; a message inside a
        thread is searched in the light of its history (``bot.followup``); the asker's role and other
        people's votes on similar questions move pages a bounded step (``bot.boosting``); ``access`` says
        whose search it is (restricted pages only for a scope allowed to read them). ``opora eval``
        measures this.
        """
        # enough passages for ten distinct pages: the sources take the first ``top_k``, and ``opora eval``
        # scores the same ranking ten pages deep (one search, shared through the retrieval cache)
        limit = limit or self.passages_per_page * max(self.top_k, 10)
        boosters = await self.boosts.for_question(role)
        extra = {"boosters": boosters} if boosters else {}  # a plain search stays cacheable

        async def run(query: str) -> RetrievalOutcome:
            return await self.retriever.retrieve(query, lang=lang, limit=limit, access=access, **extra)

        return await self.followups.search(text, history, run)

    async def _assess(
        self, text: str, incoming: Incoming, conversation_id: int | None, message_id: int | None
    ) -> Verdict | None:
        """The incident check, stored with the question; skipped in a thread already escalated.

        With the database down (a degraded turn) the message is still checked: an incident must not go
        unnoticed because storage is out (paging then says honestly whether it got through).
        """
        if self.detector is None:
            return None
        try:
            if conversation_id is not None and await self.escalator.active(conversation_id):
                return None
        except Exception:
            log.warning("escalation.state_unavailable", session=incoming.session.as_str())
        verdict = await self._verdict(text, incoming)
        if message_id is not None:
            try:
                async with self.db.session() as s:
                    await set_message_severity(
                        s, message_id=message_id, severity=verdict.severity, reasons=list(verdict.reasons)
                    )
            except Exception:
                log.warning("escalation.severity_not_stored", message_id=message_id)
        return verdict

    def _second_look(
        self,
        incoming: Incoming,
        ctx: SessionContext,
        text: str,
        message_id: int | None,
        verdict: Verdict,
        lang: Lang,
    ) -> Pending | None:
        if self.second_opinion is None:
            return None
        escalation = Escalation(
            session=incoming.session,
            user=incoming.user,
            text=text,
            reason="llm",
            conversation_id=ctx.conversation_id,
            message_id=message_id,
        )
        return self.second_opinion.start(escalation, verdict, lang)

    async def _verdict(self, text: str, incoming: Incoming) -> Verdict:
        assert self.detector is not None
        try:
            return await self.detector.assess(text, incoming.session)
        except Exception:  # the shared embedder is down: the detector's own local embedding still works
            log.warning("escalation.detector_degraded", exc_info=True)
            return await asyncio.to_thread(self.detector.check, text, incoming.session)

    async def request_human(self, incoming: Incoming) -> str:
        """The "call a human" button or command: escalate the conversation and say so."""
        ctx = await open_session(self.db, incoming.user, incoming.session, history_turns=1)
        lang = reply_lang(incoming.lang, ctx.language, incoming.text, self.default_lang)
        async with self.db.session() as s:
            recent = await messages.recent_messages(s, conversation_id=ctx.conversation_id, limit=1)
            if recent and recent[-1].kind == "answer":
                recent[-1].escalated = True
        last = recent[-1] if recent else None
        answer = ""
        if last is not None and last.kind == "answer":
            # a page goes to people and systems outside the conversation (on-call channel, PagerDuty, a
            # ticket): an answer drawn on restricted pages is withheld there, the thread link stays
            restricted = any(isinstance(s, dict) and s.get("access") for s in last.sources or [])
            answer = t("answer_withheld_restricted", lang) if restricted else last.text
        outcome = await self._escalate(
            incoming, ctx, incoming.text, "user_request", (), last.id if last else None, "high", answer=answer
        )
        return page_notice(outcome, lang, incident=False, contact=self.contact)

    async def _escalate(
        self,
        incoming: Incoming,
        ctx: SessionContext,
        text: str,
        reason: str,
        details: tuple[str, ...],
        message_id: int | None,
        severity: str = "critical",
        answer: str = "",
    ) -> PageOutcome:
        try:
            return await self.escalator.escalate(
                Escalation(
                    session=incoming.session,
                    user=incoming.user,
                    text=text,
                    reason=reason,
                    conversation_id=ctx.conversation_id,
                    message_id=message_id,
                    details=details,
                    severity=severity,
                    answer=answer,
                )
            )
        except Exception:  # paging must never cost the user the answer; and nobody was paged
            log.exception("escalation.failed", session=incoming.session.as_str())
            return NOT_PAGED
