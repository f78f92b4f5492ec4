"""Slack end to end: fake Slack (real HTTP/WebSocket) → slack-bolt → adapter → the real core → fake Slack."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from adapters.slack import SlackChannel
from bot.generation import GenerationDone, GenerationRequest, TextDelta
from bot.services import Services
from storage.escalation_models import EscalationRow
from storage.models import Conversation, Feedback, Message
from tests.adapters.conftest import SIGNING_SECRET, HttpSlack, open_http_slack, wait_for
from tests.fakes.slack_server import BOT_USER, FakeSlackServer, block_action, event, form

CHANNEL = "C0001"
QUESTION = "How do I roll back a helm release to a previous revision?"


def mention(ts: str, text: str = QUESTION, thread_ts: str | None = None, user: str = "U1") -> dict[str, Any]:
    inner = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER}> {text}",
        "ts": ts,
        "channel": CHANNEL,
    }
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return inner


def reply(ts: str, thread_ts: str, text: str, user: str = "U1") -> dict[str, Any]:
    return {"type": "message", "channel_type": "channel", "user": user, "text": text, "ts": ts,
            "thread_ts": thread_ts, "channel": CHANNEL}  # fmt: skip


def reaction(kind: str, name: str, item_ts: str, user: str = "U1", channel: str = CHANNEL) -> dict[str, Any]:
    return {"type": kind, "user": user, "reaction": name, "event_ts": "1.0",
            "item": {"type": "message", "channel": channel, "ts": item_ts}}  # fmt: skip


def finished(fake: FakeSlackServer, thread_ts: str) -> list[Any]:
    """Bot messages in the thread whose last block carries the feedback buttons (answers done)."""
    return [m for m in fake.messages(CHANNEL, thread_ts) if m.blocks and m.blocks[-1]["type"] == "actions"]


async def answered(fake: FakeSlackServer, thread_ts: str, count: int = 1) -> list[Any]:
    return await wait_for(lambda: len(finished(fake, thread_ts)) >= count and finished(fake, thread_ts),
                          what=f"{count} answer(s) in {thread_ts}")  # fmt: skip


async def rows(core: Services, model: Any) -> list[Any]:
    async with core.db.session() as s:
        return list((await s.execute(select(model))).scalars())


async def vote_of(core: Services) -> int:
    votes = await rows(core, Feedback)
    return votes[-1].value if votes else 0  # a withdrawn vote leaves no row


async def test_mention_starts_thread_and_answers_in_it(http_slack: HttpSlack, slack_fake: FakeSlackServer,
                                                       core: Services) -> None:  # fmt: skip
    response = await http_slack.deliver(mention("100.000001"))
    assert response.status_code == 200
    (answer,) = await answered(slack_fake, "100.000001")
    assert answer.thread_ts == "100.000001"  # the top-level mention's own ts is the thread root
    assert answer.history and "Looking through" in answer.history[0]  # acknowledged with a placeholder
    assert "Sources" in answer.text + str(answer.blocks)
    (conv,) = await rows(core, Conversation)
    assert (conv.platform, conv.channel, conv.thread) == ("slack", CHANNEL, "100.000001")
    stored = [m for m in await rows(core, Message) if m.kind == "answer"]
    assert stored[0].platform_ref == f"{CHANNEL}:{answer.ts}"


async def test_follow_up_in_thread_without_mention_uses_history(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    await http_slack.deliver(mention("200.000001"))
    await answered(slack_fake, "200.000001")
    await http_slack.deliver(reply("200.000002", "200.000001", "and how do I see its history first?"))
    await answered(slack_fake, "200.000001", count=2)
    questions = [m for m in await rows(core, Message) if m.kind == "question"]
    assert len(questions) == 2 and questions[0].conversation_id == questions[1].conversation_id
    # a thread the bot never answered in is not its business without a mention
    await http_slack.deliver(reply("300.000002", "300.000001", "unrelated chatter"))
    await http_slack.deliver(reply("300.000003", "300.000001", "more chatter", user="U2"))
    assert len(await rows(core, Conversation)) == 1 and not slack_fake.messages(CHANNEL, "300.000001")


async def test_reaction_and_button_votes_store_flip_and_withdraw(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    await http_slack.deliver(mention("400.000001"))
    (answer,) = await answered(slack_fake, "400.000001")
    message_id = next(m.id for m in await rows(core, Message) if m.kind == "answer")

    await http_slack.deliver(reaction("reaction_added", "+1", answer.ts))
    await wait_for(lambda: _is(vote_of(core), 1), what="vote 1")
    await http_slack.deliver(reaction("reaction_added", "-1::skin-tone-2", answer.ts))
    await wait_for(lambda: _is(vote_of(core), -1), what="vote -1")  # flipped
    await http_slack.deliver(reaction("reaction_removed", "+1", answer.ts))
    await wait_for(
        lambda: _is(vote_of(core), -1), what="vote -1"
    )  # removing 👍 does not withdraw the 👎 given later
    await http_slack.deliver(reaction("reaction_removed", "-1", answer.ts))
    await wait_for(lambda: _is(vote_of(core), 0), what="vote 0")  # withdrawn

    async def press(action_id: str) -> None:
        payload = block_action(user="U1", channel=CHANNEL, message_ts=answer.ts, thread_ts="400.000001",
                               action_id=action_id, value=str(message_id))  # fmt: skip
        response = await http_slack.post(form(payload), "application/x-www-form-urlencoded")
        assert response.status_code == 200

    await press("opora_vote_up")
    await wait_for(lambda: vote_of(core), what="button vote")
    assert await vote_of(core) == 1
    await press("opora_vote_down")
    await wait_for(lambda: _is(vote_of(core), -1), what="flipped vote")
    await press("opora_vote_down")
    await wait_for(lambda: _is(vote_of(core), 0), what="withdrawn vote")
    await press("opora_vote_up")
    await wait_for(lambda: _is(vote_of(core), 1), what="vote again")
    (row,) = await rows(core, Feedback)
    assert row.source == "button"


async def _is(value: Any, expected: int) -> bool:
    return await value == expected


async def test_redelivered_event_yields_one_answer(http_slack: HttpSlack, slack_fake: FakeSlackServer,
                                                   core: Services) -> None:  # fmt: skip
    inner = mention("500.000002", thread_ts="500.000001")
    first = await http_slack.deliver(inner, event_id="Ev500")
    retry = await http_slack.deliver(inner, event_id="Ev500", retry_num=1)
    # Slack also sends a ``message`` event (other id) for a mention inside a thread
    twin = await http_slack.deliver(reply("500.000002", "500.000001", inner["text"]), event_id="Ev501")
    assert first.status_code == retry.status_code == twin.status_code == 200
    await answered(slack_fake, "500.000001")
    assert len(slack_fake.messages(CHANNEL, "500.000001")) == 1
    assert slack_fake.calls["chat.postMessage"] == 1
    assert len([m for m in await rows(core, Message) if m.kind == "question"]) == 1


async def test_bad_signature_is_rejected_and_nothing_stored(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    response = await http_slack.deliver(mention("600.000001"), secret="not-the-secret")
    assert response.status_code == 401
    stale = await http_slack.post(
        '{"type": "event_callback"}', "application/json", secret=SIGNING_SECRET + "x"
    )
    assert stale.status_code == 401
    assert await rows(core, Conversation) == [] and await rows(core, Message) == []
    assert slack_fake.calls["chat.postMessage"] == 0


async def test_rate_limited_post_is_retried_and_posted_once(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    slack_fake.fail("chat.postMessage", status=429, retry_after=1)
    await http_slack.deliver(mention("700.000001"))
    await answered(slack_fake, "700.000001")
    assert slack_fake.calls["chat.postMessage"] == 2  # the 429, then the post
    assert len(slack_fake.messages(CHANNEL, "700.000001")) == 1


async def test_post_that_landed_despite_500_is_not_posted_again(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    slack_fake.fail("chat.postMessage", status=500, after_effect=True)
    await http_slack.deliver(mention("710.000001"))
    await answered(slack_fake, "710.000001")
    assert slack_fake.calls["conversations.replies"] == 1  # looked up by its nonce instead
    assert slack_fake.calls["chat.postMessage"] == 1
    assert len(slack_fake.messages(CHANNEL, "710.000001")) == 1


class ScriptedGenerator:
    """An answer generator plugged in at the engine's seam, streaming a fixed text."""

    name = "scripted"

    def __init__(self, text: str) -> None:
        self.text = text

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Any]:
        for start in range(0, len(self.text), 500):
            yield TextDelta(self.text[start : start + 500])
            await asyncio.sleep(0)
        yield GenerationDone(provider="scripted", cited=(1,))


async def test_long_answer_is_split_into_sections_and_messages(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    paragraphs = [f"Step {i}: " + "run the rollback and check the release [1]. " * 40 for i in range(20)]
    code = "```bash\n" + "\n".join(f"helm rollback app {i}" for i in range(300)) + "\n```"
    core.engine.generator = ScriptedGenerator("\n\n".join([*paragraphs[:10], code, *paragraphs[10:]]))
    await http_slack.deliver(mention("800.000001"))
    await answered(slack_fake, "800.000001")
    posted = slack_fake.messages(CHANNEL, "800.000001")
    assert len(posted) >= 2
    sections = [b["text"]["text"] for m in posted for b in m.blocks if b["type"] == "section"]
    assert all(len(s) <= 3000 for s in sections) and all(len(m.blocks) <= 50 for m in posted)
    assert all(s.count("```") % 2 == 0 for s in sections)  # no section ends inside a code block
    joined = "\n".join(sections)
    assert all(f"Step {i}:" in joined for i in range(20)) and "helm rollback app 299" in joined
    assert [m.blocks[-1]["type"] == "actions" for m in posted] == [False] * (len(posted) - 1) + [True]


async def test_markdown_hostile_text_is_escaped(http_slack: HttpSlack, slack_fake: FakeSlackServer,
                                                core: Services) -> None:  # fmt: skip
    # the user's words echoed back by a command
    await http_slack.deliver(mention("900.000001", text="role <!channel>"))
    (echo,) = await wait_for(lambda: slack_fake.messages(CHANNEL, "900.000001"), what="the reply")
    assert "<!channel>" not in echo.text + str(echo.blocks) and "&lt;!channel&gt;" in str(echo.blocks)
    # an answer quoting hostile document text
    core.engine.generator = ScriptedGenerator("Ping <!here> @channel <script>alert(1)</script> [1]")
    await http_slack.deliver(mention("901.000001"))
    (answer,) = await answered(slack_fake, "901.000001")
    shown = str(answer.blocks)
    assert "<!here>" not in shown and "<script>" not in shown and "@channel" not in shown


async def test_socket_mode_answers_dedupes_votes_and_survives_a_dropped_socket(
    socket_slack: SlackChannel, slack_fake: FakeSlackServer, core: Services
) -> None:
    payload = event(mention("1000.000001"), event_id="EvS1")
    envelope = await slack_fake.send_socket("events_api", payload)
    await wait_for(lambda: envelope in slack_fake.acked, what="the envelope ack")
    (answer,) = await answered(slack_fake, "1000.000001")
    await slack_fake.send_socket("events_api", payload, retry_attempt=1)  # Slack's redelivery
    message_id = next(m.id for m in await rows(core, Message) if m.kind == "answer")
    action = block_action(user="U1", channel=CHANNEL, message_ts=answer.ts, thread_ts="1000.000001",
                          action_id="opora_vote_down", value=str(message_id))  # fmt: skip
    await slack_fake.send_socket("interactive", action)
    await wait_for(lambda: _is(vote_of(core), -1), what="the button vote")
    assert len(slack_fake.messages(CHANNEL, "1000.000001")) == 1

    await slack_fake.drop_sockets()
    await wait_for(lambda: slack_fake.socket_connections == 1, what="the reconnection")
    assert slack_fake.calls["apps.connections.open"] >= 2
    await slack_fake.send_socket("events_api", event(mention("1001.000001")))
    await answered(slack_fake, "1001.000001")
    assert len([m for m in await rows(core, Message) if m.kind == "answer"]) == 2
    assert re.fullmatch(r"\d+\.\d+", answer.ts)


INCIDENT = "prod is down: checkout returns 500 for every customer since 10:00, please help"


async def test_human_takeover_in_an_escalated_thread(http_slack: HttpSlack, slack_fake: FakeSlackServer,
                                                     core: Services) -> None:  # fmt: skip
    await http_slack.deliver(mention("300.000001", INCIDENT))
    (first,) = await answered(slack_fake, "300.000001")
    assert "nobody has been called" in first.text  # no target configured: never "I paged"
    await http_slack.deliver(reply("300.000002", "300.000001", "on it, restarting the gateway", user="U2"))

    async def kinds() -> list[str]:
        return [m.kind for m in await rows(core, Message)]

    await wait_for(lambda: _has(kinds(), "human"), what="the human's reply stored")
    await http_slack.deliver(reply("300.000003", "300.000001", "thanks, is it back up?", user="U1"))
    await wait_for(lambda: _has(kinds(), "followup"), what="the asker's follow-up kept, unanswered")
    await http_slack.deliver(mention("300.000004", QUESTION, thread_ts="300.000001"))
    await answered(slack_fake, "300.000001", 2)  # only the mention is answered after the takeover
    assert len(finished(slack_fake, "300.000001")) == 2
    assert await kinds() == ["question", "answer", "human", "followup", "question", "answer"]
    questions = [m for m in await rows(core, Message) if m.kind == "question"]
    assert questions[0].severity == "critical" and questions[1].severity is None  # not re-detected


async def _has(found: Any, kind: str, count: int = 1) -> bool:
    return (await found).count(kind) >= count


# --- on call: reactions on a page drive the lifecycle; a 👎 on an abstain offers a human -------------------

ONCALL = "COPS"
OFF_TOPIC = "What is the lunch menu in the canteen on Friday?"  # not in the docs: the answer abstains


@pytest.fixture
async def oncall(core_factory: Any, slack_fake: FakeSlackServer) -> AsyncIterator[tuple[Services, HttpSlack]]:
    """A core that pages the #ops channel (COPS) through the fake Slack, and the adapter over it."""
    core = await core_factory(
        slack={"bot_token": "xoxb-test-token", "api_url": slack_fake.api_url},
        escalation={
            "targets": [{"kind": "slack", "channel": ONCALL}],
            "rotations": [{"people": [{"name": "Anna", "slack": "UANNA"}], "start": "2026-01-05"}],
        },
    )
    async with open_http_slack(core, slack_fake) as slack:
        yield core, slack


async def test_reactions_on_a_page_acknowledge_then_resolve(
    oncall: tuple[Services, HttpSlack], slack_fake: FakeSlackServer
) -> None:
    core, slack = oncall
    await slack.deliver(mention("800.000001", INCIDENT))
    (answer,) = await answered(slack_fake, "800.000001")
    assert "I paged Anna" in answer.text
    (page,) = slack_fake.messages(ONCALL)
    assert "<@UANNA>" in page.text

    def said_on_page() -> list[str]:
        return [m.text for m in slack_fake.messages(ONCALL, page.ts)]

    # a ✅ on something that is not a page (the answer in the asker's thread) is not a lifecycle step
    await slack.deliver(reaction("reaction_added", "white_check_mark", answer.ts, user="U1"))
    await slack.deliver(reaction("reaction_added", "eyes", page.ts, user="U2", channel=ONCALL))
    await wait_for(lambda: said_on_page(), what="the acknowledgement in the page's thread")
    (row,) = await rows(core, EscalationRow)
    assert (row.state, row.acknowledged_by) == ("acknowledged", "User U2")

    resolve = reaction("reaction_added", "white_check_mark", page.ts, user="U3", channel=ONCALL)
    await slack.deliver(resolve, event_id="EvResolve")
    await slack.deliver(resolve, event_id="EvResolve", retry_num=1)  # Slack retrying the delivery
    await slack.deliver(reaction("reaction_added", "eyes", page.ts, user="U4", channel=ONCALL))
    await wait_for(lambda: len(said_on_page()) >= 2, what="the resolution in the page's thread")
    await asyncio.sleep(0)
    (row,) = await rows(core, EscalationRow)
    assert (row.state, row.resolved_by, row.acknowledged_by) == ("resolved", "User U3", "User U2")
    assert said_on_page() == ["Acknowledged by User U2.", "Resolved by User U3."]  # once each, no noise
    assert not [m for m in slack_fake.messages(CHANNEL, "800.000001") if "Resolved" in m.text]


def offers(fake: FakeSlackServer, thread_ts: str) -> list[Any]:
    """Bot messages in the thread carrying only the "call a human" button (the offer after a 👎)."""

    def buttons(m: Any) -> list[str]:
        return [e["action_id"] for e in m.blocks[-1].get("elements", [])] if m.blocks else []

    return [m for m in fake.messages(CHANNEL, thread_ts) if buttons(m) == ["opora_human"]]


async def test_thumbs_down_on_an_abstained_answer_offers_a_human_once(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    await http_slack.deliver(mention("810.000001", OFF_TOPIC))
    (answer,) = await answered(slack_fake, "810.000001")
    assert "did not find" in answer.text
    message_id = next(m.id for m in await rows(core, Message) if m.kind == "answer")
    await http_slack.deliver(reaction("reaction_added", "-1", answer.ts))
    (offer,) = await wait_for(lambda: offers(slack_fake, "810.000001"), what="the offer")
    assert "Shall I call a human? Press “Call a human”" in offer.text
    assert not re.search(r"paged|called|calling", offer.text, re.IGNORECASE)  # an offer, not a claim
    assert offer.blocks[-1]["elements"][0]["value"] == str(message_id)

    # another 👎 on the same answer (the button, another user's reaction) offers nothing more
    async def press(action_id: str, message_ts: str, user: str) -> None:
        payload = block_action(user=user, channel=CHANNEL, message_ts=message_ts, thread_ts="810.000001",
                               action_id=action_id, value=str(message_id))  # fmt: skip
        assert (await http_slack.post(form(payload), "application/x-www-form-urlencoded")).status_code == 200

    await press("opora_vote_down", answer.ts, "U2")
    await http_slack.deliver(reaction("reaction_added", "-1", answer.ts, user="U3"))
    await wait_for(lambda: _count_votes(core, 3), what="three 👎")
    # the offer's button goes the same way as the button under the answer
    await press("opora_human", offer.ts, "U1")
    thread = slack_fake.messages
    await wait_for(lambda: [m for m in thread(CHANNEL, "810.000001") if "could not call" in m.text],
                   what="the escalation's honest reply")  # fmt: skip
    assert len(offers(slack_fake, "810.000001")) == 1


async def test_thumbs_down_on_a_real_answer_offers_nothing(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    await http_slack.deliver(mention("820.000001"))
    (answer,) = await answered(slack_fake, "820.000001")
    await http_slack.deliver(reaction("reaction_added", "-1", answer.ts))
    await wait_for(lambda: _is(vote_of(core), -1), what="the 👎")
    assert not offers(slack_fake, "820.000001") and len(slack_fake.messages(CHANNEL, "820.000001")) == 1


async def _count_votes(core: Services, count: int) -> bool:
    return len([v for v in await rows(core, Feedback) if v.value == -1]) >= count
