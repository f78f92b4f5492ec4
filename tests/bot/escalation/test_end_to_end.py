"""End to end over the REST API: a critical question pages a webhook; a resolved thread becomes knowledge."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import time

import httpx
import pytest

from bot.app import close_services, create_app
from bot.config import Settings
from bot.escalation.service import dedup_key, session_of
from bot.types import Incoming, SessionKey, UserRef
from tests.conftest import build_core


def test_targets_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPORA_ESCALATION__TARGETS", '[{"kind": "webhook", "url": "http://127.0.0.1:9/hook"}]')
    settings = Settings()
    [target] = settings.escalation.targets
    assert target.kind == "webhook" and target.url == "http://127.0.0.1:9/hook"


@pytest.fixture
def targets(paging):
    return [{"kind": "webhook", "url": f"{paging.url}/hook"}]


@pytest.fixture
def public_url() -> str | None:
    return None


@pytest.fixture
async def paged(golden_core_dir, tmp_path, targets, public_url):
    data_src, kb = golden_core_dir
    data = tmp_path / "data"
    shutil.copytree(data_src, data)
    services = await build_core(
        data, kb, ingest=False,
        escalation={"targets": targets, "rotations": [{"people": ["Anna"], "start": "2026-01-05"}],
                    "public_url": public_url},
    )  # fmt: skip
    services.index.finish()
    app = create_app(services.settings, channels=())
    app.state.services = services
    _, token = await services.tokens.create("ops", ("admin",))  # the operator routes need an admin token
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://opora") as client,
        httpx.AsyncClient(
            transport=transport, base_url="http://opora", headers={"Authorization": f"Bearer {token}"}
        ) as admin,
    ):
        yield services, client, admin
    await close_services(services)


async def test_critical_question_over_the_api_posts_the_webhook_within_5_seconds(paged, paging):
    _, client, _ = paged
    question = "payments fail for everyone since 10:00, customers cannot check out"
    started = time.monotonic()
    r = await client.post("/api/v1/ask", json={"text": question, "user_id": "u1"})
    body = r.json()
    [hook] = paging.accepted("/hook")
    assert hook.at - started < 5  # paged while the answer is still being written
    assert hook.body["question"] == question and hook.body["thread_id"].startswith("api:")
    assert body["escalated"] and "I paged Anna (on call)" in body["answer"]


async def test_resolved_thread_is_captured_reviewed_and_answers_the_next_near_duplicate(paged, paging):
    services, client, admin = paged
    asked = (await client.post("/api/v1/ask", json={"text": "how do I get access to the VPN for contractors?",
                                                     "user_id": "asker"})).json()  # fmt: skip
    key = SessionKey("api", "asker", asked["session_id"])
    asker = UserRef("api", "asker")
    reply = await services.commands.handle(Incoming(text="human", user=asker, session=key))
    assert "I paged Anna" in reply
    human = UserRef("api", "anna", display_name="Anna")
    answer = "Contractors get a VPN profile from #it-helpdesk: open a ticket with the contract number."
    spoke = await services.escalation.should_answer(
        Incoming(text=answer, user=human, session=key), mentioned=False
    )
    assert not spoke  # a human answered: the bot stays quiet in the thread
    [esc] = (await admin.get("/api/v1/escalations")).json()["escalations"]
    assert esc["state"] == "acknowledged" and esc["first_human_reply_at"]
    assert esc["trigger"] == "user_request"  # "call a human" names no message: the thread's question is shown
    assert esc["question"] == "how do I get access to the VPN for contractors?"
    assert (await admin.post(f"/api/v1/escalations/{esc['id']}/resolve", json={"by": "Anna"})).json()[
        "changed"
    ]
    [draft] = (await admin.get("/api/v1/escalations/captured")).json()["entries"]
    assert draft["answer"] == answer and draft["answered_by"] == "Anna" and not draft["summarised"]
    r = await admin.post(
        f"/api/v1/escalations/captured/{draft['id']}", json={"action": "approve", "reviewer": "lead"}
    )
    assert r.json()["status"] == "approved"
    again = (await client.post("/api/v1/ask", json={"text": "How can I get VPN access for a contractor?",
                                                     "user_id": "someone-else"})).json()  # fmt: skip
    assert again["answer"].startswith(answer) and "answered by Anna" in again["answer"]
    exported = (await admin.get("/api/v1/escalations/captured.md")).text
    assert "## how do I get access to the VPN for contractors?" in exported and answer in exported


@pytest.mark.parametrize("public_url", ["https://opora.example.com/"])
async def test_escalation_list_for_the_web_chat_page_and_its_lifecycle_steps(paged):
    _, client, admin = paged
    question = "prod is down, every request returns 503 for all customers"
    await client.post("/api/v1/ask", json={"text": question, "user_id": "u"})
    [esc] = (await admin.get("/api/v1/escalations", params={"state": ["open", "acknowledged"]})).json()[
        "escalations"
    ]
    assert esc["question"] == question and esc["assignee"] == "Anna" and esc["state"] == "open"
    assert esc["link"] == f"https://opora.example.com/#/c/{esc['conversation_id']}"
    assert esc["acknowledged_by"] is None and esc["severity"] == "critical"
    assert (await client.get("/api/v1/escalations")).status_code == 403  # no admin token
    assert (await admin.get("/api/v1/escalations", params={"state": "closed"})).status_code == 422

    step = f"/api/v1/escalations/{esc['id']}"
    assert (await admin.post(f"{step}/acknowledge", json={})).json()["changed"]
    assert not (await admin.post(f"{step}/acknowledge", json={})).json()["changed"]  # someone was first
    [acked] = (await admin.get("/api/v1/escalations", params={"state": "acknowledged"})).json()["escalations"]
    assert acked["acknowledged_by"] == "token:ops" and acked["acknowledged_at"]  # the caller, when no "by"
    assert (await admin.get("/api/v1/escalations", params={"state": "resolved"})).json()["escalations"] == []
    assert (await admin.post(f"{step}/resolve", json={"by": "Anna"})).json()["changed"]
    [done] = (await admin.get("/api/v1/escalations", params={"state": "resolved"})).json()["escalations"]
    assert done["resolved_by"] == "Anna" and done["question"] == question
    active = {"state": ["open", "acknowledged"]}
    assert (await admin.get("/api/v1/escalations", params=active)).json()["escalations"] == []


@pytest.mark.parametrize(
    "targets", [[{"kind": "pagerduty", "url": "http://127.0.0.1:9", "routing_key": "K", "secret": "whsec"}]]
)
async def test_pagerduty_webhooks_acknowledge_and_resolve_with_a_valid_signature(paged):
    _, client, admin = paged
    await client.post("/api/v1/ask", json={"text": "prod is down, every request returns 503", "user_id": "u"})
    [esc] = (await admin.get("/api/v1/escalations")).json()["escalations"]
    key = dedup_key(SessionKey(esc["platform"], esc["channel"], esc["thread"]))  # as sent with the trigger

    async def deliver(event_type: str, secret: str) -> httpx.Response:
        data = {"type": "incident", "incident_key": key}
        body = json.dumps({"event": {"event_type": event_type, "agent": {"summary": "Anna"}, "data": data}})
        sig = "v1=" + hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
        headers = {"X-PagerDuty-Signature": sig, "Content-Type": "application/json"}
        return await client.post("/api/v1/escalations/pagerduty", content=body, headers=headers)

    assert (await deliver("incident.acknowledged", "wrong")).status_code == 403
    assert (await deliver("incident.acknowledged", "whsec")).json()["changed"]
    assert (await deliver("incident.resolved", "whsec")).json()["changed"]
    [esc] = (await admin.get("/api/v1/escalations")).json()["escalations"]
    assert esc["state"] == "resolved" and esc["acknowledged_at"] and esc["resolved_at"]


def test_a_dedup_key_names_its_thread_even_with_colons_inside() -> None:
    for thread in (SessionKey("api", "t3:asker", "9f2c"), SessionKey("telegram", "-100123", "-100123:77")):
        key = dedup_key(thread)
        assert key.startswith(f"opora:{thread.platform}:") and key.count(":") == 3
        assert session_of(key) == thread
    assert session_of("other:slack:C1:1.0") is None and session_of("opora:slack:C1") is None
