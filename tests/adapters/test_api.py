"""The REST API end to end: HTTP → engine → retrieval over a small real KB → stored answer."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from bot.app import create_app
from storage.models import Feedback, Message


@pytest.fixture
async def client(core):
    app = create_app(core.settings, channels=())
    app.state.services = core
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora") as c:
        yield c


async def test_ask_in_english_answers_with_sources(client, core):
    r = await client.post(
        "/api/v1/ask",
        json={
            "text": "How can werf print goroutine stack traces periodically while it hangs?",
            "user_id": "u1",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body["abstained"] and not body["escalated"]
    assert body["lang"] == "en"
    assert "WERF_PRINT_STACK_TRACES" in body["answer"]
    assert body["sources"][0]["path"] == "werf/en/reference/debug_env_vars.md"
    assert body["sources"][0]["url"].startswith("https://")
    assert body["latency_ms"] >= 0 and body["message_id"] > 0 and body["session_id"]
    async with core.db.session() as s:
        stored = await s.get(Message, body["message_id"])
        assert (
            stored is not None
            and stored.kind == "answer"
            and stored.sources[0]["path"] == body["sources"][0]["path"]
        )


async def test_ask_in_russian_replies_in_russian(client):
    question = {"text": "как удалить релиз из кластера с помощью helm?", "user_id": "u"}
    body = (await client.post("/api/v1/ask", json=question)).json()
    assert body["lang"] == "ru" and not body["abstained"]
    assert body["answer"].startswith("Вот что сказано в документации")
    assert body["sources"][0]["path"] == "helm/ru/intro/quickstart.md"
    assert "helm uninstall" in body["answer"]


async def test_off_topic_question_abstains_and_offers_a_human(client):
    r = await client.post(
        "/api/v1/ask", json={"text": "где заказать новый ноутбук для стажёра?", "user_id": "u"}
    )
    body = r.json()
    assert body["abstained"] and body["sources"] == []
    assert "не нашёл" in body["answer"] and "человека" in body["answer"]


async def test_incident_is_escalated(client):
    r = await client.post(
        "/api/v1/ask", json={"text": "прод лежит, у всех клиентов 502, срочно", "user_id": "u"}
    )
    body = r.json()
    assert body["escalated"] and "дежурного" in body["answer"]


async def test_session_keeps_history_and_is_private_to_its_user(client, core):
    first = (
        await client.post(
            "/api/v1/ask", json={"text": "How do I roll back a helm release?", "user_id": "ann"}
        )
    ).json()
    sid = first["session_id"]
    second = await client.post(
        "/api/v1/ask", json={"text": "and to revision 2?", "user_id": "ann", "session_id": sid}
    )
    other = await client.post(
        "/api/v1/ask", json={"text": "and to revision 2?", "user_id": "bob", "session_id": sid}
    )
    assert second.status_code == other.status_code == 200
    async with core.db.session() as s:
        a = await s.get(Message, first["message_id"])
        b = await s.get(Message, second.json()["message_id"])
        c = await s.get(Message, other.json()["message_id"])
    assert a.conversation_id == b.conversation_id != c.conversation_id
    assert any("rollback" in (src["path"] or "") for src in second.json()["sources"])


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"text": "   ", "user_id": "u"}, 422, "invalid_input"),
        ({"text": "x" * 4001, "user_id": "u"}, 422, "invalid_input"),
        ({"user_id": "u"}, 422, "invalid_input"),
        ({"text": "hi", "user_id": ""}, 422, "invalid_input"),
    ],
)
async def test_bad_questions_get_clear_errors(client, payload, status, code):
    r = await client.post("/api/v1/ask", json=payload)
    assert r.status_code == status
    error = r.json()["error"]
    assert error["code"] == code and error["message"]


async def test_oversized_question_error_names_the_limit_in_russian(client):
    r = await client.post(
        "/api/v1/ask", json={"text": "я" * 5000, "user_id": "u"}, headers={"accept-language": "ru"}
    )
    assert (
        r.status_code == 422
        and "4000" in r.json()["error"]["message"]
        and "длинный" in r.json()["error"]["message"]
    )


async def test_bad_json_and_huge_bodies_are_refused(client):
    r = await client.post("/api/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"
    r = await client.post("/api/v1/ask", content=b"x" * 300_000, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


async def test_feedback_is_stored_replaced_and_withdrawn(client, core):
    answer = (await client.post("/api/v1/ask", json={"text": "helm rollback", "user_id": "u"})).json()
    mid = answer["message_id"]
    assert (
        await client.post("/api/v1/feedback", json={"message_id": mid, "user_id": "u", "value": 1})
    ).status_code == 200
    r = await client.post(
        "/api/v1/feedback", json={"message_id": mid, "user_id": "u", "value": -1, "comment": "old"}
    )
    assert r.status_code == 200
    async with core.db.session() as s:
        votes = list((await s.execute(select(Feedback).where(Feedback.message_id == mid))).scalars())
    assert [(v.value, v.comment) for v in votes] == [(-1, "old")]
    await client.post("/api/v1/feedback", json={"message_id": mid, "user_id": "u", "value": 0})
    async with core.db.session() as s:
        assert not list((await s.execute(select(Feedback).where(Feedback.message_id == mid))).scalars())


async def test_feedback_on_unknown_message_is_404(client):
    r = await client.post("/api/v1/feedback", json={"message_id": 999999, "user_id": "u", "value": 1})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.post("/api/v1/feedback", json={"message_id": 1, "user_id": "u", "value": 5})
    assert r.status_code == 422


async def test_health_readiness_and_openapi(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ok" and ready["database"] == "ok"
    assert ready["vector_store"]["points"] > 0 and ready["index"]["state"] == "done"
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/ask" in spec["paths"] and "/api/v1/feedback" in spec["paths"]
    assert (
        "opora_" in (await client.get("/metrics")).text or (await client.get("/metrics")).status_code == 200
    )
