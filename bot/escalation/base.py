"""The escalation seam: a request for a human, and what came of paging for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import structlog

from bot.texts import t
from bot.types import Lang, SessionKey, UserRef

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Escalation:
    """A request for a human: raised by the detector, a button or the ``human`` command."""

    session: SessionKey
    user: UserRef
    text: str
    reason: str  # "detector" | "user_request" | "abstained"
    conversation_id: int | None = None
    message_id: int | None = None
    details: tuple[str, ...] = field(default_factory=tuple)
    severity: str = "critical"  # critical | high | normal
    answer: str = ""  # the bot's answer, when there is one yet
    link: str | None = None  # a link to the thread, when the platform has one


@dataclass(frozen=True, slots=True)
class PageOutcome:
    """What paging achieved. ``paged`` is True only once a real target accepted the page.

    Attributes:
        paged: a configured target accepted the page (HTTP 2xx, the messenger posted it).
        who: the person paged (the on-call now), when a rotation names one.
        targets: the kinds of the targets that accepted it.
        pending: the page is queued for retry (a target was down); nobody is reached yet.
        escalation_id: the escalation row, when one was stored.
    """

    paged: bool
    who: str | None = None
    targets: tuple[str, ...] = ()
    pending: bool = False
    escalation_id: int | None = None


NOT_PAGED = PageOutcome(paged=False)


class Escalator(Protocol):
    async def escalate(self, escalation: Escalation) -> PageOutcome: ...

    async def active(self, conversation_id: int) -> bool:
        """Whether the thread has an unresolved escalation (detection is not re-run there)."""
        ...


class LogEscalator:
    """No target configured: the escalation is only a structured log event, and nobody is paged."""

    def __init__(self) -> None:
        self.sent: list[Escalation] = []

    async def active(self, conversation_id: int) -> bool:
        return False

    async def escalate(self, escalation: Escalation) -> PageOutcome:
        self.sent.append(escalation)
        del self.sent[:-100]  # keep the last few for introspection, never grow
        log.warning(
            "escalation.unrouted",
            session=escalation.session.as_str(),
            reason=escalation.reason,
            conversation_id=escalation.conversation_id,
            message_id=escalation.message_id,
        )
        return NOT_PAGED


def page_notice(
    outcome: PageOutcome, lang: Lang, *, incident: bool, contact: str = "", second_look: bool = False
) -> str:
    """What the asker is told about paging: who was called only after a target accepted the page.

    ``second_look``: the incident was found by the LLM's judgement after the answer had started.
    """
    prefix = "second_look" if second_look else "incident" if incident else "human"
    if outcome.paged:
        who = t("oncall_person", lang, name=outcome.who) if outcome.who else t("oncall_generic", lang)
        return t(f"{prefix}_paged", lang, who=who)
    reach = contact.strip() or t("contact_default", lang)
    if outcome.pending:
        return t(f"{prefix}_page_pending", lang, contact=reach)
    return t(f"{prefix}_not_paged", lang, contact=reach)
