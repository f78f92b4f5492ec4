"""bot.history on SQLite and PostgreSQL: ownership, listing, rename/delete, transcripts with votes, and
popular questions that stay private until several people ask them."""

from __future__ import annotations

from bot.history import History, clean_title
from bot.types import Platform, SessionKey
from storage.db import Database
from storage.repositories import conversations, feedback, messages, users


async def _setup(db: Database) -> dict[str, int]:
    async with db.session() as s:
        alice = await users.get_or_create_user(s, platform="web", external_id="alice")
        bob = await users.get_or_create_user(s, platform="web", external_id="bob")
        web = await conversations.get_or_create_conversation(
            s, platform=Platform.WEB, channel=str(alice.id), thread="t1", owner_id=alice.id, title="Deploy"
        )
        slack = await conversations.get_or_create_conversation(
            s, platform=Platform.SLACK, channel="C1", thread="1.0", owner_id=alice.id
        )
        q = await messages.add_question(
            s, conversation_id=web.id, user_id=alice.id, text="how to roll back?", lang="en"
        )
        a = await messages.add_answer(
            s,
            conversation_id=web.id,
            question_id=q.id,
            text="werf converge …",
            lang="en",
            sources=[],
            latency_ms=10,
            provider="extractive",
            prompt_variant=None,
            abstained=False,
            escalated=False,
        )
        await feedback.record_vote(
            s, message_id=a.id, user_id=alice.id, value=-1, source="web", comment="old"
        )
        await feedback.record_vote(s, message_id=a.id, user_id=bob.id, value=1, source="web")
        return {"alice": alice.id, "bob": bob.id, "web": web.id, "slack": slack.id, "q": q.id, "a": a.id}


async def test_ownership_and_transcript(db: Database) -> None:
    ids = await _setup(db)
    history = History(db)
    conv = await history.conversation(ids["alice"], Platform.WEB, ids["web"])
    assert conv is not None and conv.title == "Deploy"
    assert await history.conversation(ids["bob"], Platform.WEB, ids["web"]) is None  # someone else's
    assert await history.conversation(ids["alice"], Platform.WEB, ids["slack"]) is None  # other platform
    assert await history.conversation(ids["alice"], Platform.WEB, 10_000) is None
    assert (await history.answer(ids["alice"], Platform.WEB, ids["a"])) is not None
    assert await history.answer(ids["bob"], Platform.WEB, ids["a"]) is None
    assert await history.answer(ids["alice"], Platform.WEB, ids["q"]) is None  # a question is no answer
    entries = await history.transcript(conv, ids["alice"])
    assert [e.message.kind for e in entries] == ["question", "answer"]
    vote = entries[1].vote
    assert entries[0].vote is None and vote is not None and (vote.value, vote.comment) == (-1, "old")
    key = SessionKey(Platform.WEB, str(ids["alice"]), "t1")
    assert (await history.by_key(ids["alice"], key))[0] and not (await history.by_key(ids["bob"], key))[0]
    assert (await history.by_key(ids["bob"], SessionKey(Platform.WEB, "x", "new")))[0]  # a new thread


async def test_list_rename_delete(db: Database) -> None:
    ids = await _setup(db)
    history = History(db)
    assert [c.id for c in await history.list(ids["alice"], Platform.WEB)] == [ids["web"]]
    assert [c.id for c in await history.list(ids["alice"], Platform.WEB, search="ROLL back")] == [ids["web"]]
    assert await history.list(ids["alice"], Platform.WEB, search="zebracorn") == []
    assert await history.list(ids["bob"], Platform.WEB) == []
    conv = await history.conversation(ids["alice"], Platform.WEB, ids["web"])
    assert conv is not None
    title = clean_title("  Rollback \n on  stage ")
    assert title == "Rollback on stage" and clean_title("   ") is None and clean_title("x" * 201) is None
    await history.rename(conv, title)
    assert (await history.list(ids["alice"], Platform.WEB))[0].title == "Rollback on stage"
    await history.delete(conv)
    assert await history.list(ids["alice"], Platform.WEB) == []
    assert await history.conversation(ids["alice"], Platform.WEB, ids["web"]) is None


async def test_popular_questions_need_several_people_and_never_come_from_private_places(db: Database) -> None:
    async with db.session() as s:
        shared = await conversations.get_or_create_conversation(
            s, platform="web", channel="1", thread="a", shareable=True
        )
        dm = await conversations.get_or_create_conversation(s, platform="slack", channel="D1", thread="D1")
        people = [await users.get_or_create_user(s, platform="web", external_id=f"p{i}") for i in range(4)]
        for person, text in zip(
            people, ("How to roll back?", "HOW TO ROLL BACK?", "  how to roll back?  "), strict=False
        ):
            await messages.add_question(s, conversation_id=shared.id, user_id=person.id, text=text, lang="en")
        for _ in range(5):  # one person asking again and again is still one person
            await messages.add_question(
                s, conversation_id=shared.id, user_id=people[3].id, text="mine", lang="en"
            )
        for person in people:  # everybody asked it, but in a DM: never shown
            await messages.add_question(
                s, conversation_id=dm.id, user_id=person.id, text="in a DM", lang="en"
            )
    history = History(db)
    popular = await history.popular(days=30, min_people=3, limit=5)
    assert len(popular) == 1 and popular[0].strip().lower() == "how to roll back?"
    assert await history.popular(days=30, min_people=4, limit=5) == []
    assert "mine" not in await history.popular(days=30, min_people=2, limit=5)
    assert "in a DM" not in await history.popular(days=30, min_people=1, limit=5)
