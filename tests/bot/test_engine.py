"""The engine through its public seam, over the real core (sample KB, SQLite, Qdrant Edge)."""

from __future__ import annotations

import re

import pytest

from bot.errors import InvalidInput
from bot.texts import t
from bot.types import (
    AnswerDelta,
    AnswerEnd,
    AnswerNotice,
    AnswerSources,
    AnswerStart,
    Incoming,
    SessionKey,
    UserRef,
)
from storage.repositories import messages, users


def incoming(text: str, thread: str = "t1", user: str = "U1", platform: str = "slack") -> Incoming:
    return Incoming(
        text=text,
        user=UserRef(platform=platform, external_id=user),
        session=SessionKey(platform=platform, channel="C1", thread=thread),
    )


async def test_stream_events_come_in_order_and_end_with_stored_ids(core):
    events = [
        e
        async for e in core.engine.stream(
            incoming("werf kube-run: how to copy a file back from the container?")
        )
    ]
    kinds = [type(e) for e in events]
    assert kinds[0] is AnswerStart and kinds[-1] is AnswerEnd and AnswerSources in kinds
    assert kinds.index(AnswerDelta) < kinds.index(AnswerSources)
    answer = events[-1].answer
    assert answer.message_id and answer.session_id == events[0].session_id
    assert answer.text == "".join(e.text for e in events if isinstance(e, AnswerDelta))
    assert "--copy-from" in answer.text


async def test_thread_history_is_kept_and_follow_up_uses_it(core):
    await core.engine.ask(incoming("How do I roll back a helm release?", thread="th"))
    follow = await core.engine.ask(incoming("and to a specific revision?", thread="th"))
    assert any("rollback" in (s.path or "") for s in follow.sources)
    async with core.db.session() as s:
        history = await messages.recent_messages(s, conversation_id=follow.session_id, limit=10)
    assert [m.kind for m in history] == ["question", "answer", "question", "answer"]


async def test_partial_index_adds_a_notice(core):
    core.index.begin(["kb"])
    core.index.progress(docs_done=1, docs_total=4, chunks_done=10)
    events = [e async for e in core.engine.stream(incoming("helm rollback to previous revision"))]
    notices = [e.text for e in events if isinstance(e, AnswerNotice)]
    assert notices and "25%" in notices[0]
    assert events[-1].answer.notice == notices[0]


async def test_invalid_questions_raise_before_anything_is_stored(core):
    with pytest.raises(InvalidInput):
        await core.engine.ask(incoming("   "))
    with pytest.raises(InvalidInput) as err:
        await core.engine.ask(incoming("a" * 4001))
    assert "4000" in err.value.message("ru")
    async with core.db.session() as s:
        assert await messages.popular_questions(s, days=1, limit=5) == []


async def test_commands_set_role_language_and_start_fresh(core):
    assert "role" in (await core.commands.handle(incoming("/role devops")) or "").lower()
    assert await core.commands.handle(incoming("lang ru")) == t("lang_set", "ru")
    async with core.db.session() as s:
        user = await users.get_or_create_user(s, platform="slack", external_id="U1")
    assert (user.role, user.language) == ("devops", "ru")
    first = await core.engine.ask(incoming("helm rollback", thread="dm"))
    assert first.lang == "ru"  # the stored language preference wins over detection
    assert await core.commands.handle(incoming("new", thread="dm"))
    second = await core.engine.ask(incoming("helm rollback", thread="dm"))
    assert second.session_id != first.session_id
    assert await core.commands.handle(incoming("helm rollback")) is None


async def test_human_request_escalates_the_last_answer(core):
    from storage.repositories import escalations

    answer = await core.engine.ask(incoming("helm rollback", thread="h"))
    reply = await core.commands.handle(incoming("human", thread="h"))
    # no target is configured: the user is told nobody was paged, never that someone was called
    assert reply and "could not call a human" in reply and "paged" not in reply
    async with core.db.session() as s:
        stored = await messages.get_message(s, message_id=answer.message_id)
        [row] = await escalations.list_escalations(s)
    assert stored.escalated
    assert row.trigger == "user_request" and row.conversation_id == answer.session_id and row.state == "open"


async def test_sources_are_distinct_pages_and_citations_point_at_them(core):
    answer = await core.engine.ask(incoming("helm rollback to a previous revision of a release"))
    docs = [s.doc_id for s in answer.sources]
    assert len(docs) == len(set(docs)) and 2 < len(docs) <= 5
    assert all(s.sections and s.sections[0] == s.section for s in answer.sources if s.section)
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert cited and cited <= set(range(1, len(docs) + 1))
    assert answer.query == "helm rollback to a previous revision of a release"


async def test_a_down_vote_lowers_the_page_for_a_similar_question_and_says_why(core):
    from bot.feedback import record_vote
    from bot.types import Vote

    first = await core.engine.ask(incoming("how do I roll back a helm release?", thread="v1"))
    top = first.sources[0].doc_id
    await record_vote(core.db, Vote(message_id=first.message_id, user=UserRef("slack", "U9"), value=-1))
    core.engine.boosts.feedback.invalidate()
    again = await core.engine.ask(incoming("how can I roll back a helm release?", thread="v2", user="U2"))
    docs = [s.doc_id for s in again.sources]
    assert top in docs  # one person's vote moves a page, it never hides it
    moved = again.sources[docs.index(top)]
    assert any("👎" in reason for reason in moved.why)
