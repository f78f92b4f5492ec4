"""Every paging target kind against a fake speaking its protocol, through the service and the outbox."""

from __future__ import annotations

import hashlib
import hmac

from bot.escalation.base import Escalation
from storage.repositories import escalations
from tests.bot.escalation.conftest import make_settings, thread
from tests.fakes.mattermost_server import FakeMattermostServer
from tests.fakes.slack_server import FakeSlackServer
from tests.fakes.telegram_server import FakeTelegramServer

ANNA = {"name": "Anna", "slack": "UANNA", "telegram": "anna_oncall", "mattermost": "anna"}
ROTATION = [{"people": [ANNA, {"name": "Boris"}], "timezone": "Europe/Moscow", "start": "2026-11-30"}]


async def _escalate(service, db, *, answer: str = "", **kw):
    key, asker, conv, qid = await thread(db, **kw)
    return await service.escalate(
        Escalation(
            session=key, user=asker, text="payments fail for everyone since 10:00", reason="detector",
            conversation_id=conv, message_id=qid, details=("classifier 0.97",), answer=answer,
        )
    ), conv  # fmt: skip


async def test_pagerduty_trigger_ack_resolve_with_dedup_key_and_details(db, paging, service_factory):
    settings = make_settings(
        targets=[{"kind": "pagerduty", "url": paging.url, "routing_key": "R0UTINGKEY"}], rotations=ROTATION
    )
    service = await service_factory(settings)
    outcome, _ = await _escalate(service, db, answer="Restart the gateway.")
    assert outcome.paged and outcome.who == "Anna"
    [event] = paging.accepted("/v2/enqueue")
    assert event.body["event_action"] == "trigger" and event.body["routing_key"] == "R0UTINGKEY"
    assert event.body["dedup_key"] == "opora:slack:C1:100.1"
    payload = event.body["payload"]
    assert payload["severity"] == "critical"
    details = payload["custom_details"]
    assert details["question"] == "payments fail for everyone since 10:00"
    assert details["answer"] == "Restart the gateway."
    assert details["thread_link"] == "https://slack.com/archives/C1/p1001"
    assert await service.acknowledge(outcome.escalation_id, by="Anna")
    assert await service.resolve(outcome.escalation_id, by="Anna")
    await service.drain()
    actions = [r.body["event_action"] for r in paging.accepted("/v2/enqueue")]
    assert actions == ["trigger", "acknowledge", "resolve"]
    assert {r.body["dedup_key"] for r in paging.accepted("/v2/enqueue")} == {"opora:slack:C1:100.1"}


async def test_pagerduty_429_and_5xx_are_retried_400_is_not(db, paging, service_factory, clock):
    settings = make_settings(targets=[{"kind": "pagerduty", "url": paging.url, "routing_key": "K"}])
    service = await service_factory(settings)
    paging.script([429, 502])
    outcome, _ = await _escalate(service, db)
    assert not outcome.paged and outcome.pending  # nobody is said to be called yet
    await service.sweep()  # not due yet: backoff
    assert [r.status for r in paging.received] == [429]
    clock.advance(seconds=3)
    await service.sweep()
    clock.advance(seconds=5)
    await service.sweep()
    assert [r.status for r in paging.received] == [429, 502, 202]
    async with db.session() as s:
        row = await escalations.get_escalation(s, escalation_id=outcome.escalation_id)
    assert row.paged_at is not None

    paging.script([400])
    outcome, _ = await _escalate(service, db, ts="200.2")
    assert not outcome.paged and not outcome.pending  # refused for good: not "still trying"
    clock.advance(minutes=10)
    await service.sweep()
    second = [r.status for r in paging.received if r.body.get("dedup_key") == "opora:slack:C1:200.2"]
    assert second == [400]  # never retried
    async with db.session() as s:
        [item] = await escalations.outbox_of(s, escalation_id=outcome.escalation_id)
    assert item.status == "failed" and "400" in item.last_error


async def test_grafana_formatted_webhook_alerting_then_ok(db, paging, service_factory):
    url = f"{paging.url}/integrations/v1/formatted_webhook/T0KEN/"
    service = await service_factory(make_settings(targets=[{"kind": "grafana", "url": url}]))
    outcome, _ = await _escalate(service, db)
    assert outcome.paged and outcome.who is None
    await service.resolve(outcome.escalation_id, by="ops")
    await service.drain()
    states = [(r.body["state"], r.body["alert_uid"]) for r in paging.accepted("/integrations")]
    assert states == [("alerting", "opora:slack:C1:100.1"), ("ok", "opora:slack:C1:100.1")]
    assert "payments fail" in paging.accepted("/integrations")[0].body["message"]


async def test_webhook_body_is_hmac_signed(db, paging, service_factory):
    settings = make_settings(targets=[{"kind": "webhook", "url": f"{paging.url}/hook", "secret": "s3cr3t"}])
    service = await service_factory(settings)
    outcome, _ = await _escalate(service, db)
    assert outcome.paged
    [hook] = paging.accepted("/hook")
    assert hook.body["question"] == "payments fail for everyone since 10:00"
    assert hook.body["thread_id"] == "slack:C1:100.1" and hook.body["event"] == "trigger"
    ts = hook.headers["X-Opora-Timestamp"]
    expected = hmac.new(b"s3cr3t", ts.encode() + b"." + hook.raw, hashlib.sha256).hexdigest()
    assert hook.headers["X-Opora-Signature"] == f"sha256={expected}"


async def test_slack_target_mentions_the_person_on_call_with_buttons(db, service_factory):
    slack = FakeSlackServer()
    await slack.start()
    try:
        settings = make_settings(targets=[{"kind": "slack", "channel": "COPS"}], rotations=ROTATION)
        from pydantic import SecretStr

        settings.slack.bot_token = SecretStr("xoxb-test")
        settings.slack.api_url = f"{slack.url}/api/"
        service = await service_factory(settings)
        outcome, _ = await _escalate(service, db)
        assert outcome.paged and outcome.who == "Anna"
        [page] = slack.messages("COPS")
        assert "<@UANNA>" in page.text and "https://slack.com/archives/C1/p1001" in page.text
        ids = [e["action_id"] for b in page.blocks if b["type"] == "actions" for e in b["elements"]]
        assert ids == ["opora_esc_ack", "opora_esc_resolve"]
    finally:
        await slack.close()


async def test_telegram_target_posts_with_ack_buttons(db, service_factory):
    from pydantic import SecretStr

    tg = FakeTelegramServer()
    await tg.start()
    try:
        settings = make_settings(targets=[{"kind": "telegram", "channel": "-100777"}], rotations=ROTATION)
        settings.telegram.bot_token = SecretStr(tg.token)
        settings.telegram.api_url = tg.url
        service = await service_factory(settings)
        outcome, _ = await _escalate(service, db)
        assert outcome.paged
        [page] = tg.sent(-100777)
        assert "@anna_oncall" in page.text
        buttons = page.reply_markup["inline_keyboard"][0]
        assert buttons[0]["callback_data"] == f"opora_esc_ack:{outcome.escalation_id}"
    finally:
        await tg.close()


async def test_mattermost_target_posts_in_the_channel(db, service_factory):
    from pydantic import SecretStr

    mm = FakeMattermostServer()
    await mm.start()
    try:
        settings = make_settings(
            targets=[{"kind": "mattermost", "channel": "opschannel"}], rotations=ROTATION
        )
        settings.mattermost.url = mm.url
        settings.mattermost.token = SecretStr(mm.token)
        settings.mattermost.action_url = "http://opora.local/mattermost/actions"
        service = await service_factory(settings)
        outcome, _ = await _escalate(service, db)
        assert outcome.paged
        [page] = [p for p in mm.posts.values() if p.channel_id == "opschannel"]
        assert "@anna" in page.message
        actions = page.props["attachments"][0]["actions"]
        assert actions[0]["integration"]["context"]["escalation_id"] == outcome.escalation_id
    finally:
        await mm.close()
