"""Escalation tables on SQLite and PostgreSQL: one open escalation per thread, lifecycle, outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from storage.models import utcnow
from storage.repositories import conversations, escalations, messages


async def _thread(db, thread: str = "1.0") -> int:
    async with db.session() as s:
        conv = await conversations.get_or_create_conversation(s, platform="slack", channel="C", thread=thread)
    return conv.id


async def _open(db, conv_id: int, **kw):
    async with db.session() as s:
        return await escalations.open_escalation(
            s,
            conversation_id=conv_id,
            platform="slack",
            channel="C",
            thread="1.0",
            trigger=kw.get("trigger", "detector"),
            severity="critical",
            reasons=["classifier 0.97"],
        )


async def test_a_thread_has_one_open_escalation_even_when_raised_concurrently(db):
    conv = await _thread(db)
    results = await asyncio.gather(*(_open(db, conv) for _ in range(4)))
    assert len({row.id for row, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_lifecycle_timestamps_and_reopen_after_resolve(db):
    conv = await _thread(db)
    row, _ = await _open(db, conv)
    async with db.session() as s:
        assert await escalations.mark_paged(s, escalation_id=row.id)
        assert not await escalations.mark_paged(s, escalation_id=row.id)
        assert await escalations.acknowledge(s, escalation_id=row.id, by="anna")
        assert not await escalations.acknowledge(s, escalation_id=row.id, by="boris")
        assert await escalations.record_human_reply(s, escalation_id=row.id, by="anna")
        assert not await escalations.record_human_reply(s, escalation_id=row.id, by="anna")
        assert await escalations.resolve(s, escalation_id=row.id, by="anna")
        assert not await escalations.resolve(s, escalation_id=row.id, by="anna")
    async with db.session() as s:
        done = await escalations.get_escalation(s, escalation_id=row.id)
        kinds = [e.kind for e in await escalations.events_of(s, escalation_id=row.id)]
    assert done.state == "resolved" and done.acknowledged_by == "anna" and done.active_key is None
    assert done.created_at <= done.paged_at <= done.acknowledged_at <= done.first_human_reply_at
    assert done.first_human_reply_at <= done.resolved_at
    assert kinds == ["opened", "acknowledged", "human_reply", "resolved"]
    again, created = await _open(db, conv)
    assert created and again.id != row.id and again.state == "open"


async def test_repage_is_claimed_by_one_replica(db):
    conv = await _thread(db)
    row, _ = await _open(db, conv)
    async with db.session() as s:
        due = await escalations.due_for_repage(s, paged_before=utcnow() + timedelta(minutes=1))
    assert [r.id for r in due] == [row.id]

    async def repage(who: str) -> bool:
        async with db.session() as s:
            return await escalations.claim_repage(
                s, escalation_id=row.id, seen_count=0, assignee=who, assignee_index=1
            )

    assert sorted(await asyncio.gather(repage("a"), repage("b"))) == [False, True]
    async with db.session() as s:
        assert (await escalations.get_escalation(s, escalation_id=row.id)).repage_count == 1


async def test_outbox_item_is_queued_once_and_claimed_by_one_worker(db):
    conv = await _thread(db)
    row, _ = await _open(db, conv)
    async with db.session() as s:
        args = dict(escalation_id=row.id, target="hook", kind="webhook", action="trigger", payload={"q": 1})
        assert await escalations.enqueue(s, dedupe_key=f"{row.id}:hook:trigger:0", **args)
        assert not await escalations.enqueue(s, dedupe_key=f"{row.id}:hook:trigger:0", **args)

    async def claim(worker: str):
        async with db.session() as s:
            return await escalations.claim_due(s, worker=worker, lease=timedelta(seconds=30))

    a, b = await asyncio.gather(claim("w1"), claim("w2"))
    assert len(a) + len(b) == 1
    [item] = a or b
    worker = item.claimed_by
    async with db.session() as s:
        await escalations.mark_failed(s, item_id=item.id, worker=worker, error="HTTP 503", retry_at=utcnow())
    [again] = await claim("w3")
    async with db.session() as s:
        assert not await escalations.mark_sent(s, item_id=again.id, worker="w1", result={})
        assert await escalations.mark_sent(s, item_id=again.id, worker="w3", result={"status": 202})
    assert await claim("w4") == []
    async with db.session() as s:
        [stored] = await escalations.outbox_of(s, escalation_id=row.id)
    assert stored.status == "sent" and stored.attempts == 2 and stored.sent_at is not None


async def test_severity_and_reasons_are_stored_with_the_message(db):
    conv = await _thread(db)
    async with db.session() as s:
        q = await messages.add_question(s, conversation_id=conv, user_id=None, text="prod down", lang="en")
        await escalations.set_message_severity(
            s, message_id=q.id, severity="critical", reasons=["rule:outage"]
        )
    async with db.session() as s:
        stored = await messages.get_message(s, message_id=q.id)
        await s.refresh(stored)
    assert stored.severity == "critical" and stored.severity_reasons == ["rule:outage"]


async def test_captured_answer_review(db):
    async with db.session() as s:
        entry = await escalations.add_captured(
            s,
            escalation_id=None,
            question="q?",
            answer="a.",
            lang="en",
            answered_by="anna",
            answered_at=utcnow(),
            summarised=False,
        )
    async with db.session() as s:
        await escalations.review_captured(
            s, entry_id=entry.id, status="approved", reviewer="lead", answer="A!"
        )
        approved = await escalations.list_captured(s, status="approved")
    assert [(e.id, e.answer, e.reviewed_by) for e in approved] == [(entry.id, "A!", "lead")]


async def test_a_summary_replaces_only_the_untouched_verbatim_draft(db):
    fields = {"question": "q?", "answer": "a.", "lang": "en", "answered_by": "anna", "summarised": False}
    async with db.session() as s:
        kept = await escalations.add_captured(s, escalation_id=None, answered_at=utcnow(), **fields)
        replaced = await escalations.add_captured(s, escalation_id=None, answered_at=utcnow(), **fields)
    async with db.session() as s:  # a reviewer edits one before the summary arrives
        await escalations.review_captured(s, entry_id=kept.id, status="draft", reviewer="lead", answer="A!")
    async with db.session() as s:
        assert not await escalations.summarise_captured(s, entry_id=kept.id, verbatim="a.", summary="S.")
        assert await escalations.summarise_captured(s, entry_id=replaced.id, verbatim="a.", summary="S.")
        assert not await escalations.summarise_captured(s, entry_id=replaced.id, verbatim="a.", summary="T.")
    async with db.session() as s:
        rows = {e.id: (e.answer, e.summarised) for e in await escalations.list_captured(s)}
    assert rows == {kept.id: ("A!", False), replaced.id: ("S.", True)}


async def test_a_page_is_found_by_the_ref_of_its_sent_message_only(db):
    first, _ = await _open(db, await _thread(db, "1.0"))
    second, _ = await _open(db, await _thread(db, "2.0"))

    async def queue(escalation_id: int, key: str, kind: str, action: str, ref: str) -> None:
        async with db.session() as s:
            await escalations.enqueue(
                s,
                escalation_id=escalation_id,
                dedupe_key=key,
                target=kind,
                kind=kind,
                action=action,
                payload={},
            )
            [item] = [
                i for i in await escalations.outbox_of(s, escalation_id=escalation_id) if i.dedupe_key == key
            ]
            [claimed] = await escalations.claim_due(s, worker="w", lease=timedelta(seconds=30), ids=[item.id])
            await escalations.mark_sent(s, item_id=claimed.id, worker="w", result={"platform_ref": ref})

    await queue(first.id, "a", "slack", "trigger", "COPS:1.1")
    await queue(second.id, "b", "slack", "repage", "COPS:2.2")  # a re-page is a page too
    await queue(second.id, "c", "mattermost", "trigger", "COPS:3.3")
    async with db.session() as s:
        assert await escalations.escalation_of_page(s, kind="slack", platform_ref="COPS:1.1") == first.id
        assert await escalations.escalation_of_page(s, kind="slack", platform_ref="COPS:2.2") == second.id
        other_kind = await escalations.escalation_of_page(s, kind="slack", platform_ref="COPS:3.3")
        assert other_kind is None
        assert (
            await escalations.escalation_of_page(s, kind="mattermost", platform_ref="COPS:3.3") == second.id
        )
        assert await escalations.escalation_of_page(s, kind="slack", platform_ref="COPS:1") is None
