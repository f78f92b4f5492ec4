"""The offer to call a human after a 👎: abstained answers only, once, never once a human is asked for."""

from __future__ import annotations

from bot.escalation.base import Escalation
from bot.escalation.offer import human_offer
from bot.texts import t
from storage.repositories import messages
from tests.bot.escalation.conftest import make_settings, thread


async def _answer(db, conversation_id: int, question_id: int, *, abstained: bool, lang: str = "en") -> int:
    async with db.session() as s:
        msg = await messages.add_answer(
            s, conversation_id=conversation_id, question_id=question_id, text="…", lang=lang, sources=[],
            latency_ms=1, provider="none", prompt_variant=None, abstained=abstained, escalated=False,
        )  # fmt: skip
        await messages.set_platform_ref(s, message_id=msg.id, platform_ref="C1:200.2")
    return msg.id


async def test_offer_once_for_an_abstained_answer(db, service_factory):
    service = await service_factory(make_settings())
    key, _, conv, qid = await thread(db)
    answered = await _answer(db, conv, qid, abstained=False)
    abstained = await _answer(db, conv, qid, abstained=True, lang="ru")
    assert await human_offer(db, message_id=answered, escalator=service) is None
    offer = await human_offer(db, message_id=abstained, escalator=service)
    assert offer is not None and offer.session == key and offer.answer_ref == "C1:200.2"
    assert offer.text(button=True) == t("human_offer_button", "ru")
    assert "человек" in offer.text(button=False)
    assert await human_offer(db, message_id=abstained, escalator=service) is None  # once per answer
    assert await human_offer(db, message_id=10_000, escalator=service) is None


async def test_no_offer_once_a_human_was_asked_for(db, service_factory):
    service = await service_factory(make_settings())
    key, asker, conv, qid = await thread(db)
    answer = await _answer(db, conv, qid, abstained=True)
    await service.escalate(Escalation(session=key, user=asker, text="human", reason="user_request",
                                      conversation_id=conv, severity="high"))  # fmt: skip
    assert await service.active(conv)
    assert await human_offer(db, message_id=answer, escalator=service) is None


def test_offer_never_says_anybody_was_called():
    for key in ("human_offer_button", "human_offer_command"):
        for lang in ("en", "ru"):
            text = t(key, lang).lower()  # type: ignore[arg-type]
            assert "?" in text
            for claim in ("paged", "called", "calling", "вызвал", "позвал ", "зову"):
                assert claim not in text
