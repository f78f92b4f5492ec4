"""Mattermost end to end: our async client against the fake server (REST + websocket), the real core."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from adapters.mattermost import MattermostChannel
from bot.config import MattermostSettings
from storage.escalation_models import EscalationRow
from storage.models import Conversation, Feedback, Message
from tests.adapters.tg_updates import until
from tests.fakes.mattermost_server import FakeMattermostServer

ACTION_TOKEN = "act-token-123"
ROLLBACK = "How do I roll back a helm release?"
COPY = "werf kube-run: how to copy a file back from the container?"
CHANNEL = "chan0000000000000000000000"
USER = "user0000000000000000000001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeMattermostServer]:
    server = FakeMattermostServer()
    await server.start()
    yield server
    await server.close()


@contextlib.asynccontextmanager
async def open_mm(core, fake, *, buttons: bool = True) -> AsyncIterator[MattermostChannel]:
    """The channel over ``core``; ``buttons=False``: no action URL/token, so posts carry no buttons."""
    settings = MattermostSettings(
        url=fake.url,
        token=fake.token,
        action_token=ACTION_TOKEN if buttons else None,
        action_url="http://opora/mattermost/actions" if buttons else None,
        edit_interval=0.05,
        reconnect_max=0.2,
    )
    channel = MattermostChannel(core, settings)
    channel.client.reconnect_min = 0.05
    await channel.start()
    try:
        yield channel
    finally:
        await channel.stop()


@pytest.fixture
async def mm(core, fake) -> AsyncIterator[MattermostChannel]:
    async with open_mm(core, fake) as channel:
        yield channel


@pytest.fixture
async def actions(mm) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    assert mm.router is not None
    app.include_router(mm.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora") as client:
        yield client


def final_answers(fake: FakeMattermostServer, root_id: str) -> list[Any]:
    return [p for p in fake.bot_posts(root_id) if p.props.get("attachments")]


async def ask(fake, mm, message: str, *, root_id: str = "", mention: bool = True, **kw: Any):
    text = f"@opora {message}" if mention else message
    post = await fake.user_post(user_id=USER, channel_id=CHANNEL, message=text, root_id=root_id, **kw)
    return post


async def answered(fake, mm, post, root: str | None = None) -> Any:
    root = root or post.id
    await until(lambda: final_answers(fake, root), "the final answer")
    await mm.idle()
    return final_answers(fake, root)


async def settled(fake: FakeMattermostServer, mm: MattermostChannel) -> None:
    """Every event broadcast so far has reached the client and been handled."""
    target = fake.live.seq if fake.live else 0
    await until(lambda: mm.client.next_seq >= target, "the client to catch up")
    await mm.idle()


async def count(core, model: Any) -> int:
    async with core.db.session() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_mention_starts_a_thread_and_follow_up_without_mention_uses_history(mm, fake, core):
    root = await ask(fake, mm, ROLLBACK)
    [first] = await answered(fake, mm, root)
    assert first.root_id == root.id and first.edits >= 1  # placeholder, then edits
    follow = await ask(fake, mm, "and to a specific revision?", root_id=root.id, mention=False)
    await until(lambda: len(final_answers(fake, root.id)) == 2, "the follow-up answer")
    await settled(fake, mm)
    stranger = await ask(fake, mm, "chatter in a thread we are not in", root_id="otherroot", mention=False)
    await settled(fake, mm)
    assert not fake.bot_posts("otherroot") and follow.id and stranger.id
    async with core.db.session() as s:
        conv = (await s.execute(select(Conversation))).scalar_one()
        kinds = (await s.execute(select(Message.kind).order_by(Message.id))).scalars().all()
    assert (conv.channel, conv.thread) == (CHANNEL, root.id)
    assert list(kinds) == ["question", "answer", "question", "answer"]


async def test_direct_message_needs_no_mention_and_bots_are_ignored(mm, fake):
    dm = await ask(fake, mm, COPY, mention=False, channel_type="D")
    [answer] = await answered(fake, mm, dm)
    assert "copy-from" in answer.message
    other_bot = await fake.user_post(
        user_id="otherbot", channel_id=CHANNEL, message=f"@opora {ROLLBACK}", from_bot=True
    )
    await settled(fake, mm)
    assert not fake.bot_posts(other_bot.id)
    assert len(fake.bot_posts()) == 1  # our own echoed post was not answered either


async def test_reactions_and_buttons_vote_flip_and_withdraw(mm, fake, core, actions):
    root = await ask(fake, mm, ROLLBACK)
    [answer] = await answered(fake, mm, root)

    async def votes() -> list[tuple[int, str]]:
        async with core.db.session() as s:
            return [(f.value, f.source) for f in (await s.execute(select(Feedback))).scalars()]

    async def react(emoji: str, removed: bool = False) -> None:
        await fake.react(user_id=USER, post_id=answer.id, emoji=emoji, removed=removed)
        await settled(fake, mm)

    await react("+1")
    assert await votes() == [(1, "reaction")]
    await react("-1")
    assert await votes() == [(-1, "reaction")]
    await react("+1", removed=True)  # removing the old 👍 keeps the later 👎
    assert await votes() == [(-1, "reaction")]
    await react("-1", removed=True)
    assert await votes() == []

    async def press(action_id: str) -> dict[str, Any]:
        url, payload = fake.action_payload(answer.id, action_id, USER)
        response = await actions.post(httpx.URL(url).path, json=payload)
        assert response.status_code == 200
        return response.json()

    assert (await press("voteup"))["ephemeral_text"].startswith("Thank you")
    assert await votes() == [(1, "button")]
    await press("votedown")
    assert await votes() == [(-1, "button")]
    assert "withdrawn" in (await press("votedown"))["ephemeral_text"]
    assert await votes() == []
    await press("human")
    assert any("could not call a human" in p.message for p in fake.bot_posts(root.id))


async def test_bad_action_token_is_rejected_and_nothing_is_stored(mm, fake, core, actions):
    root = await ask(fake, mm, ROLLBACK)
    [answer] = await answered(fake, mm, root)
    url, payload = fake.action_payload(answer.id, "voteup", USER)
    for token in ("wrong", None):
        payload["context"] = {**payload["context"], "token": token}
        response = await actions.post(httpx.URL(url).path, json=payload)
        assert response.status_code == 401
    assert await count(core, Feedback) == 0


async def test_websocket_drop_reconnects_without_losing_or_doubling_events(mm, fake, core):
    first = await ask(fake, mm, ROLLBACK)
    await answered(fake, mm, first)
    await fake.drop_socket()
    await until(lambda: not mm.client.connected.is_set(), "the client to notice the drop")
    missed = await ask(fake, mm, COPY)  # posted while the bot is away: replayed on resume
    fake.replay_overlap = True  # and the resume resends one event the client already had
    await fake.wait_connected()
    await answered(fake, mm, missed)
    await fake.drop_socket()
    await fake.wait_connected()
    again = await ask(fake, mm, "and to a specific revision?", root_id=first.id, mention=False)
    await until(lambda: len(final_answers(fake, first.id)) == 2, "the follow-up after reconnects")
    await mm.idle()
    assert fake.resumes >= 2 and again.id
    assert [len(final_answers(fake, p.id)) for p in (first, missed)] == [2, 1]
    assert await count(core, Message) == 6


async def test_redelivered_post_yields_one_answer(mm, fake, core):
    root = await ask(fake, mm, ROLLBACK)
    await fake.broadcast_posted(root, mentions=[fake.bot_user_id])  # the same post id delivered again
    await answered(fake, mm, root)
    await settled(fake, mm)
    assert len(fake.bot_posts(root.id)) == 1
    assert await count(core, Message) == 2


async def test_429_on_posting_is_retried_and_posts_once(mm, fake):
    fake.fail("POST /posts", status=429, retry_after=0.3)
    fake.fail("PUT /posts/patch", status=502)
    root = await ask(fake, mm, ROLLBACK)
    started = time.monotonic()
    await answered(fake, mm, root)
    assert time.monotonic() - started >= 0.3
    assert fake.count("POST /posts") == 2 and len(fake.bot_posts(root.id)) == 1


async def test_500_after_a_post_landed_never_doubles_it(mm, fake):
    fake.fail("POST /posts", status=500)  # refused, and the renderer cannot tell: it re-sends idempotently
    root = await ask(fake, mm, ROLLBACK)
    await answered(fake, mm, root)
    assert len(fake.bot_posts(root.id)) == 1


async def test_long_answer_is_split_and_markdown_hostile_text_is_escaped(core, fake):
    from adapters.channels import Draft, StreamRenderer
    from adapters.mattermost_sink import MattermostSink

    channel = MattermostChannel(core, MattermostSettings(url=fake.url, token=fake.token))
    await channel.start()
    try:
        sink = MattermostSink(channel.client, bot_user_id=fake.bot_user_id, channel_id=CHANNEL, root_id="r1")
        hostile = "Use @channel and @all, <script>alert(1)</script>, **not bold? [x](javascript:alert(1))"
        code = "\n".join(f"line {i}" for i in range(3000))
        text = hostile + "\n\n" + ("words " * 2000 + "\n\n") * 3 + f"```\n{code}\n```"
        await StreamRenderer(sink, lang="en", nonce="n").finish(Draft(text=text, lang="en", final=True))
    finally:
        await channel.stop()
    posts = fake.bot_posts("r1")
    assert len(posts) >= 3 and all(len(p.message) <= 16383 for p in posts)
    assert all(p.message.count("```") % 2 == 0 for p in posts)
    assert "@channel" not in posts[0].message and "<script>" not in posts[0].message
    joined = "\n".join(p.message for p in posts)
    assert all(f"line {i}\n" in joined for i in range(2999))


async def test_human_takeover_in_an_escalated_thread(mm, fake, core):
    incident = "prod is down: checkout returns 500 for every customer since 10:00, please help"
    root = await ask(fake, mm, incident)
    [first] = await answered(fake, mm, root)
    assert "nobody has been called" in first.message
    await fake.user_post(user_id="user0000000000000000000002", channel_id=CHANNEL,
                         message="on it, restarting the gateway", root_id=root.id)  # fmt: skip
    await settled(fake, mm)
    await ask(fake, mm, "thanks, is it back?", root_id=root.id, mention=False)
    await settled(fake, mm)
    assert len(final_answers(fake, root.id)) == 1
    await ask(fake, mm, ROLLBACK, root_id=root.id)
    await until(lambda: len(final_answers(fake, root.id)) == 2, "the answer to the mention")
    async with core.db.session() as s:
        kinds = (await s.execute(select(Message.kind).order_by(Message.id))).scalars().all()
    assert list(kinds) == ["question", "answer", "human", "followup", "question", "answer"]


async def test_post_text_posts_a_plain_message_to_a_channel(mm, fake) -> None:
    ref = await mm.post_text("docs-channel", "Documentation gaps, last 7 days")  # the gaps digest
    post = fake.posts[ref]
    assert post.channel_id == "docs-channel" and post.message == "Documentation gaps, last 7 days"


# --- on call: reactions on a page drive the lifecycle; a 👎 on an abstain offers a human -------------------

ONCALL = "opschannel0000000000000000"
INCIDENT = "prod is down: checkout returns 500 for every customer since 10:00, please help"


@pytest.fixture
async def oncall(core_factory, fake) -> AsyncIterator[tuple[Any, MattermostChannel]]:
    """A core that pages the on-call channel through the fake server, and the channel over it."""
    core = await core_factory(
        mattermost={"url": fake.url, "token": fake.token},
        escalation={
            "targets": [{"kind": "mattermost", "channel": ONCALL}],
            "rotations": [{"people": [{"name": "Anna", "mattermost": "anna"}], "start": "2026-01-05"}],
        },
    )
    async with open_mm(core, fake) as channel:
        yield core, channel


async def test_reactions_on_a_page_acknowledge_then_resolve(oncall, fake):
    core, mm = oncall
    fake.users["user0000000000000000000007"] = {"username": "anna"}
    root = await ask(fake, mm, INCIDENT)
    [answer] = await answered(fake, mm, root)
    assert "I paged Anna" in answer.message
    [page] = [p for p in fake.posts.values() if p.channel_id == ONCALL and not p.root_id]

    async def state() -> tuple[str, str | None, str | None]:
        async with core.db.session() as s:
            row = (await s.execute(select(EscalationRow))).scalar_one()
        return row.state, row.acknowledged_by, row.resolved_by

    await fake.react(user_id=USER, post_id=answer.id, emoji="white_check_mark")  # not a page: nothing
    await fake.react(user_id="user0000000000000000000007", post_id=page.id, emoji="eyes")
    await settled(fake, mm)
    assert await state() == ("acknowledged", "anna", None)
    await fake.react(user_id="user0000000000000000000008", post_id=page.id, emoji="white_check_mark")
    await fake.react(user_id="user0000000000000000000008", post_id=page.id, emoji="eyes")
    await settled(fake, mm)
    # a reactor the server cannot describe is named by their id
    assert await state() == ("resolved", "anna", "user0000000000000000000008")
    assert [p.message for p in fake.bot_posts(page.id)] == [
        "Acknowledged by anna.",
        "Resolved by user0000000000000000000008.",
    ]


async def test_thumbs_down_on_an_abstained_answer_offers_the_command_without_buttons(core, fake):
    async with open_mm(core, fake, buttons=False) as mm:
        root = await ask(fake, mm, "What is the lunch menu in the canteen on Friday?")
        await until(
            lambda: [p for p in fake.bot_posts(root.id) if "did not find" in p.message], "the abstain"
        )
        await settled(fake, mm)
        [answer] = fake.bot_posts(root.id)
        await fake.react(user_id=USER, post_id=answer.id, emoji="-1")
        await fake.react(user_id="user0000000000000000000002", post_id=answer.id, emoji="-1")
        await settled(fake, mm)
        [offer] = [p for p in fake.bot_posts(root.id) if p.id != answer.id]
        assert offer.message == "Sorry this did not help. Shall I call a human? Reply “human” in this thread."
        assert not offer.props
        await ask(fake, mm, "human", root_id=root.id, mention=False)  # what the offer says to do
        await until(
            lambda: [p for p in fake.bot_posts(root.id) if "could not call" in p.message], "escalation"
        )
        await settled(fake, mm)
        assert len(fake.bot_posts(root.id)) == 3
