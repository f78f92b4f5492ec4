"""After a 👎 on an abstained answer: offer, once, to call a human (the offer calls nobody by itself).

The adapters record the vote, then ask ``human_offer`` whether to post the offer in the answer's thread,
and render it with the "Call a human" button where their messenger has buttons, or with the ``human`` /
``человек`` command otherwise (``HumanOffer.text``).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bot.escalation.base import Escalator
from bot.texts import t
from bot.types import Lang, SessionKey
from storage.db import Database
from storage.repositories import conversations, events, messages

log = structlog.get_logger(__name__)
OFFER_CLAIMS = "human_offer"  # the processed_events namespace: one offer per answer across replicas


@dataclass(frozen=True, slots=True)
class HumanOffer:
    """The offer to post: in ``session`` (the answer's thread), after the answer posted as ``answer_ref``."""

    message_id: int
    session: SessionKey
    answer_ref: str | None
    lang: Lang

    def text(self, *, button: bool) -> str:
        """The offer, pointing at the button when one is shown, else at the ``human`` command."""
        return t("human_offer_button" if button else "human_offer_command", self.lang)


async def human_offer(db: Database, *, message_id: int, escalator: Escalator | None) -> HumanOffer | None:
    """The offer for a 👎 on answer ``message_id``, or ``None``: not abstained, already escalated, or
    offered before (claimed once per answer, whichever replica handles the vote)."""
    async with db.session() as s:
        answer = await messages.get_message(s, message_id=message_id)
        if answer is None or answer.kind != "answer" or not answer.abstained or answer.escalated:
            return None
        conv = await conversations.get_conversation(s, conversation_id=answer.conversation_id)
    if conv is None:
        return None
    if escalator is not None and await escalator.active(conv.id):
        return None  # a human has been asked for in this thread already
    async with db.session() as s:
        if not await events.claim_event(s, platform=OFFER_CLAIMS, event_id=str(message_id)):
            return None
    log.info("escalation.human_offered", message_id=message_id, session=f"{conv.platform}:{conv.channel}")
    return HumanOffer(
        message_id=message_id,
        session=SessionKey(conv.platform, conv.channel, conv.thread),
        answer_ref=answer.platform_ref,
        lang="ru" if answer.lang == "ru" else "en",
    )
