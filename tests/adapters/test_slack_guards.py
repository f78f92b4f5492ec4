"""Slack under attack and abuse: forged vote buttons, workspace/channel allowlists, per-user limits."""

from __future__ import annotations

import httpx
import structlog
from fastapi import FastAPI

from adapters.slack import SlackChannel
from bot.services import Services
from storage.models import Feedback, Message
from tests.adapters.conftest import HttpSlack, slack_settings, wait_for
from tests.adapters.test_slack import CHANNEL, answered, mention, rows
from tests.fakes.slack_server import FakeSlackServer, block_action, form


async def test_a_button_vote_must_name_the_answer_on_the_clicked_message(
    http_slack: HttpSlack, slack_fake: FakeSlackServer, core: Services
) -> None:
    await http_slack.deliver(mention("700.000001"))
    await http_slack.deliver(mention("700.000002", text="werf kube-run copy a file back"))
    (first,) = await answered(slack_fake, "700.000001")
    (second,) = await answered(slack_fake, "700.000002")
    by_ref = {m.platform_ref: m.id for m in await rows(core, Message) if m.kind == "answer"}
    ids = [by_ref[f"{CHANNEL}:{first.ts}"], by_ref[f"{CHANNEL}:{second.ts}"]]

    async def press(message_ts: str, thread_ts: str, message_id: int) -> None:
        payload = block_action(user="U9", channel=CHANNEL, message_ts=message_ts, thread_ts=thread_ts,
                               action_id="opora_vote_down", value=str(message_id))  # fmt: skip
        assert (await http_slack.post(form(payload), "application/x-www-form-urlencoded")).status_code == 200

    with structlog.testing.capture_logs() as logs:
        await press(second.ts, "700.000002", ids[0])  # the first answer's id on the second message
        await wait_for(lambda: any(e["event"] == "channel.vote_mismatch" for e in logs), what="refusal")
    assert await rows(core, Feedback) == []
    await press(second.ts, "700.000002", ids[1])
    await wait_for(lambda: rows(core, Feedback), what="the honest vote")
    assert [(f.message_id, f.value) for f in await rows(core, Feedback)] == [(ids[1], -1)]


async def slack_with(core: Services, fake: FakeSlackServer, **overrides) -> tuple[SlackChannel, HttpSlack]:
    channel = SlackChannel(core, slack_settings(fake, "http").model_copy(update=overrides))
    api = FastAPI()
    assert channel.router is not None
    api.include_router(channel.router)
    await channel.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://opora.test")
    return channel, HttpSlack(channel, client)


async def test_other_workspaces_and_channels_are_ignored(core: Services, slack_fake: FakeSlackServer) -> None:
    channel, slack = await slack_with(core, slack_fake, allowed_teams=["T0001"], allowed_channels=["C0002"])
    try:
        r = await slack.deliver(mention("800.000001"))  # C0001 is not allowed
        assert r.status_code == 200  # acknowledged so Slack does not retry
        assert slack_fake.calls.get("chat.postMessage", 0) == 0 and await rows(core, Message) == []
        allowed = {**mention("800.000002"), "channel": "C0002"}
        await slack.deliver(allowed)
        await wait_for(lambda: slack_fake.messages("C0002", "800.000002"), what="an answer in C0002")
        await wait_for(lambda: _answers(core), what="the answer stored")
    finally:
        await slack.client.aclose()
        await channel.stop()
    channel, slack = await slack_with(core, slack_fake, allowed_teams=["T9999"])
    try:
        assert (await slack.deliver({**mention("800.000003"), "channel": "C0002"})).status_code == 200
        assert len(await _answers(core)) == 1 and await _questions(core) == 1  # nothing new
    finally:
        await slack.client.aclose()
        await channel.stop()


async def _answers(core: Services) -> list[Message]:
    return [m for m in await rows(core, Message) if m.kind == "answer"]


async def _questions(core: Services) -> int:
    return len([m for m in await rows(core, Message) if m.kind == "question"])


async def test_per_user_limit_replies_politely(core: Services, slack_fake: FakeSlackServer) -> None:
    channel, slack = await slack_with(core, slack_fake, questions_per_minute=1)
    try:
        await slack.deliver(mention("900.000001"))
        await answered(slack_fake, "900.000001")
        await slack.deliver(mention("900.000002"))
        limited = await wait_for(
            lambda: [m for m in slack_fake.messages(CHANNEL, "900.000002") if "a minute" in (m.text or "")],
            what="the polite refusal",
        )
        assert "at most 1 questions a minute" in limited[0].text
    finally:
        await slack.client.aclose()
        await channel.stop()
