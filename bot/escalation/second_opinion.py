"""The LLM's second opinion, in the background: pages a message the offline detector let pass.

The engine starts it right after the offline verdict and answers as usual; it never waits for it. When
the judge says "incident", the question's stored severity and reasons become the judge's, the thread is
escalated through the same service (trigger ``llm``), and once paging has a result the asker is told:
in the answer itself when the answer is still being written (a notice), else in the thread through the
messenger's notifier. On a timeout, an error or malformed output nothing happens (logged): the offline
verdict stands.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from bot.background import Background
from bot.escalation.base import NOT_PAGED, Escalation, Escalator, PageOutcome, page_notice
from bot.escalation.detection import Verdict, channel_matches
from bot.escalation.judge import IncidentJudge
from bot.types import Lang, SessionKey
from storage.db import Database
from storage.repositories.escalations import set_message_severity

log = structlog.get_logger(__name__)
Tell = Callable[[SessionKey, str], Awaitable[bool]]  # post a line in a thread; False: no way to


@dataclass(eq=False, slots=True)
class Pending:
    """One message's second opinion while it runs."""

    task: asyncio.Task[str | None] | None = None
    closed: bool = False  # the answer has ended: a later notice goes to the thread instead

    def take(self) -> str | None:
        """At the end of the answer: the notice when paging is already decided, else ``None`` (the thread
        is told later). Either way the answer is closed to it from now on."""
        if self.closed:
            return None
        self.closed = True
        task = self.task
        if task is None or not task.done() or task.cancelled() or task.exception() is not None:
            return None
        return task.result()


class SecondOpinion(Background):
    """Runs ``IncidentJudge`` beside the answer and escalates when it finds an incident."""

    def __init__(
        self,
        judge: IncidentJudge,
        escalator: Escalator,
        db: Database,
        *,
        contact: str = "",
        never_page: list[str] | None = None,
        tell: Tell | None = None,
        min_probability: float = 0.0,
    ) -> None:
        self.judge = judge
        self.min_probability = min_probability
        self.escalator = escalator
        self.db = db
        self.contact = contact
        self.never_page = list(never_page or [])
        self.tell = tell
        super().__init__()

    def start(self, escalation: Escalation, verdict: Verdict, lang: Lang) -> Pending | None:
        """Judge ``escalation.text`` in the background; ``None`` when there is nothing to judge.

        Only a message the detector did not page on but found at least ``min_probability`` likely, in a
        stored conversation, outside ``never_page`` channels.
        """
        if verdict.critical or escalation.conversation_id is None:
            return None
        if verdict.probability is not None and verdict.probability < self.min_probability:
            return None  # clearly not an incident to the classifier: no LLM call (cost, load)
        if channel_matches(self.never_page, escalation.session):
            return None
        pending = Pending()
        pending.task = self.spawn(self._run(pending, escalation, verdict, lang), name="escalation-llm-judge")
        return pending

    async def _run(
        self, pending: Pending, escalation: Escalation, verdict: Verdict, lang: Lang
    ) -> str | None:
        session = escalation.session.as_str()
        try:
            judgement = await self.judge.judge(escalation.text)
            if judgement is None or not judgement.incident:
                opinion = judgement is not None
                log.info("escalation.llm_judge", session=session, incident=False, opinion=opinion)
                return None
            reasons = (*verdict.reasons, *judgement.labelled_reasons())
            log.info("escalation.llm_judge", session=session, incident=True, severity=judgement.severity)
            await self._store(escalation.message_id, judgement.severity, reasons)
            outcome = await self._escalate(
                dataclasses.replace(escalation, reason="llm", details=reasons, severity=judgement.severity)
            )
            notice = page_notice(outcome, lang, incident=True, contact=self.contact, second_look=True)
        except Exception:  # a second opinion must never cost anything: the offline verdict stands
            log.exception("escalation.llm_judge_error", session=session)
            return None
        if not pending.closed:
            return notice  # the answer is still being written: it carries the notice
        await self._tell(escalation.session, notice)
        return None

    def abandon(self, pending: Pending, session: SessionKey) -> None:
        """The answer ended without showing the notice (it failed or its reader left): a notice that is
        already decided goes to the thread instead; one still to come goes there by itself."""
        notice = pending.take()
        if notice:
            self.spawn(self._tell(session, notice))

    async def _store(self, message_id: int | None, severity: str, reasons: tuple[str, ...]) -> None:
        if message_id is None:
            return
        try:
            async with self.db.session() as s:
                await set_message_severity(s, message_id=message_id, severity=severity, reasons=list(reasons))
        except Exception:
            log.warning("escalation.severity_not_stored", message_id=message_id)

    async def _escalate(self, escalation: Escalation) -> PageOutcome:
        try:
            return await self.escalator.escalate(escalation)
        except Exception:  # and nobody was paged
            log.exception("escalation.failed", session=escalation.session.as_str())
            return NOT_PAGED

    async def _tell(self, session: SessionKey, notice: str) -> None:
        told = False
        if self.tell is not None:
            try:
                told = await self.tell(session, notice)
            except Exception:
                log.exception("escalation.notify_failed", session=session.as_str())
        if not told:  # the web chat and the REST API have no way to reach the asker after the answer
            log.warning("escalation.llm_notice_undelivered", session=session.as_str())
