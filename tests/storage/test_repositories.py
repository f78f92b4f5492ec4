from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from rag.types import SourceDocument
from storage.models import Conversation, utcnow
from storage.repositories import cache, conversations, documents, events, feedback, kv, messages, users


async def test_user_is_created_once_per_identity(db):
    async with db.session() as s:
        a = await users.get_or_create_user(s, platform="slack", external_id="U1", display_name="Ann")
        b = await users.get_or_create_user(s, platform="slack", external_id="U1")
        c = await users.get_or_create_user(s, platform="telegram", external_id="U1")
    assert a.id == b.id != c.id
    assert b.display_name == "Ann"


async def test_concurrent_user_creation_yields_one_row(db):
    async def create() -> int:
        async with db.session() as s:
            return (await users.get_or_create_user(s, platform="web", external_id="same")).id

    ids = await asyncio.gather(*(create() for _ in range(5)))
    assert len(set(ids)) == 1


async def test_conversation_key_is_unique(db):
    async with db.session() as s:
        one = await conversations.get_or_create_conversation(s, platform="slack", channel="C", thread="1.0")
        two = await conversations.get_or_create_conversation(s, platform="slack", channel="C", thread="1.0")
        other = await conversations.get_or_create_conversation(s, platform="slack", channel="C", thread="2.0")
    assert one.id == two.id != other.id
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(Conversation(platform="slack", channel="C", thread="1.0"))
            await s.flush()


async def test_archived_conversation_frees_its_key(db):
    async with db.session() as s:
        old = await conversations.get_or_create_conversation(s, platform="telegram", channel="9", thread="9")
        await conversations.archive_conversation(s, conversation_id=old.id)
        new = await conversations.get_or_create_conversation(s, platform="telegram", channel="9", thread="9")
    assert new.id != old.id


async def test_messages_history_and_answer_fields(db):
    async with db.session() as s:
        user = await users.get_or_create_user(s, platform="api", external_id="u")
        conv = await conversations.get_or_create_conversation(s, platform="api", channel="c", thread="t")
        for i in range(4):
            q = await messages.add_question(
                s, conversation_id=conv.id, user_id=user.id, text=f"q{i}", lang="en"
            )
            await messages.add_answer(
                s,
                conversation_id=conv.id,
                question_id=q.id,
                text=f"a{i}",
                lang="en",
                sources=[{"title": "T", "path": "p.md"}],
                latency_ms=12,
                provider="extractive",
                prompt_variant=None,
                abstained=False,
                escalated=i == 3,
            )
        recent = await messages.recent_messages(s, conversation_id=conv.id, limit=3)
        answer = await messages.answer_to(s, question_id=q.id)
    assert [m.text for m in recent] == ["a2", "q3", "a3"]
    assert answer is not None and answer.escalated and answer.sources == [{"title": "T", "path": "p.md"}]


async def test_later_vote_replaces_earlier_and_zero_withdraws(db):
    async with db.session() as s:
        user = await users.get_or_create_user(s, platform="slack", external_id="U")
        conv = await conversations.get_or_create_conversation(s, platform="slack", channel="c", thread="t")
        q = await messages.add_question(s, conversation_id=conv.id, user_id=user.id, text="q", lang="en")
        a = await messages.add_answer(
            s,
            conversation_id=conv.id,
            question_id=q.id,
            text="a",
            lang="en",
            sources=[],
            latency_ms=1,
            provider=None,
            prompt_variant=None,
            abstained=False,
            escalated=False,
        )
    async with db.session() as s:
        await feedback.record_vote(s, message_id=a.id, user_id=user.id, value=1, source="reaction")
    async with db.session() as s:
        await feedback.record_vote(
            s, message_id=a.id, user_id=user.id, value=-1, source="button", comment="no"
        )
    async with db.session() as s:
        vote = await feedback.get_vote(s, message_id=a.id, user_id=user.id)
        assert vote is not None and (vote.value, vote.source, vote.comment) == (-1, "button", "no")
        await feedback.record_vote(s, message_id=a.id, user_id=user.id, value=0, source="reaction")
    async with db.session() as s:
        assert await feedback.get_vote(s, message_id=a.id, user_id=user.id) is None


async def test_event_is_claimed_once(db):
    async with db.session() as s:
        first = await events.claim_event(s, platform="slack", event_id="Ev1")
    async with db.session() as s:
        again = await events.claim_event(s, platform="slack", event_id="Ev1")
        other = await events.claim_event(s, platform="telegram", event_id="Ev1")
    assert (first, again, other) == (True, False, True)


async def test_document_catalog_versions_and_deletion(db):
    catalog = documents.SqlDocumentCatalog(db)
    doc = SourceDocument(
        source="folder:kb", external_id="a.md", title="A", text="x", kind="markdown", content_hash="h1"
    )
    state = await catalog.register(doc)
    assert state.content_hash is None and state.version == 1
    await catalog.mark_indexed(state.doc_id, content_hash="h1", chunks=3)
    assert (await catalog.states("folder:kb"))["a.md"].content_hash == "h1"
    # re-registering unchanged content keeps the version
    assert (await catalog.register(doc)).version == 1
    doc.content_hash = "h2"
    changed = await catalog.register(doc)
    assert changed.version == 2 and changed.content_hash == "h1"  # old hash stays until indexed
    # a crash before mark_indexed, then a retry of the same content: no second bump
    assert (await catalog.register(doc)).version == 2
    await catalog.mark_indexed(state.doc_id, content_hash="h2", chunks=2)
    async with db.session() as s:
        assert await documents.document_versions(s, doc_ids=[state.doc_id]) == {state.doc_id: 2}
        assert (await documents.index_summary(s)) == {"documents": 1, "indexed": 1, "chunks": 2}
    await catalog.mark_deleted(state.doc_id)
    assert await catalog.states("folder:kb") == {}
    async with db.session() as s:
        assert await documents.document_versions(s, doc_ids=[state.doc_id]) == {}
    run = await catalog.start_run("folder:kb")
    await catalog.finish_run(run, stats={"added": 1})
    async with db.session() as s:
        last = await documents.last_run(s)
    assert last is not None and last.status == "done" and last.stats == {"added": 1}


async def test_answer_cache_expiry_and_overwrite(db):
    async with db.session() as s:
        await cache.cache_put(
            s,
            key="k",
            value={"text": "v1"},
            doc_versions={"d": 1},
            model="m",
            expires_at=utcnow() + timedelta(minutes=5),
        )
        await cache.cache_put(
            s,
            key="k",
            value={"text": "v2"},
            doc_versions={"d": 2},
            model="m",
            expires_at=utcnow() + timedelta(minutes=5),
        )
        await cache.cache_put(
            s, key="old", value={}, doc_versions={}, model=None, expires_at=utcnow() - timedelta(seconds=1)
        )
    async with db.session() as s:
        hit = await cache.cache_get(s, key="k")
        assert hit is not None and hit.value == {"text": "v2"} and hit.doc_versions == {"d": 2}
        assert await cache.cache_get(s, key="old") is None
        assert await cache.cache_purge_expired(s) == 1


async def test_popular_questions_count_people_case_insensitively_in_shareable_conversations(db):
    async with db.session() as s:
        conv = await conversations.get_or_create_conversation(
            s, platform="web", channel="u", thread="1", shareable=True
        )
        private = await conversations.get_or_create_conversation(
            s, platform="api", channel="t1:u", thread="2"
        )
        ann = await users.get_or_create_user(s, platform="web", external_id="ann")
        bob = await users.get_or_create_user(s, platform="web", external_id="bob")
        for user, text in [(ann, "How to deploy?"), (bob, "how to deploy?"), (ann, "What is werf?")]:
            await messages.add_question(s, conversation_id=conv.id, user_id=user.id, text=text, lang="en")
        await messages.add_question(
            s, conversation_id=conv.id, user_id=ann.id, text="what is werf?", lang="en"
        )
        await messages.add_question(
            s, conversation_id=private.id, user_id=bob.id, text="What is werf?", lang="en"
        )
        top = await messages.popular_questions(s, days=7, limit=5)
    assert top[0][1] == 2 and top[0][0].lower() == "how to deploy?"
    assert top[1] == ("What is werf?", 1)  # ann twice is one person; the API question does not count


async def test_kv_first_writer_wins(db):
    async with db.session() as s:
        first = await kv.get_or_set(s, key="secret", default="one")
    async with db.session() as s:
        second = await kv.get_or_set(s, key="secret", default="two")
    assert first == second == "one"


async def test_conversation_search_matches_titles_and_questions(db):
    async with db.session() as s:
        owner = await users.get_or_create_user(s, platform="web", external_id="ann")
        a = await conversations.get_or_create_conversation(
            s, platform="web", channel="ann", thread="1", owner_id=owner.id, title="Helm hooks"
        )
        b = await conversations.get_or_create_conversation(
            s, platform="web", channel="ann", thread="2", owner_id=owner.id, title="Other"
        )
        await messages.add_question(s, conversation_id=b.id, user_id=owner.id, text="werf cleanup", lang="en")
        await conversations.get_or_create_conversation(
            s, platform="web", channel="bob", thread="3", owner_id=None, title="Helm too"
        )
        found_title = await conversations.list_conversations(s, owner_id=owner.id, search="helm")
        found_text = await conversations.list_conversations(s, owner_id=owner.id, search="CLEANUP")
        await conversations.delete_conversation(s, conversation_id=a.id)
        remaining = await conversations.list_conversations(s, owner_id=owner.id)
    assert [c.id for c in found_title] == [a.id]
    assert [c.id for c in found_text] == [b.id]
    assert [c.id for c in remaining] == [b.id]
