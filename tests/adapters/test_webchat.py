"""The web chat's WebSocket protocol and REST routes against the real core on a small sample KB."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from adapters.webchat import create
from adapters.webchat.auth import COOKIE
from bot.extractive import ExtractiveGenerator
from tests.webchat.sample import GatedGenerator, WordStreamer, build_services, make_sample_kb

WEB = "/api/v1/web"
QUESTION_EN = "How do I roll back a helm release to a previous revision?"
QUESTION_RU = "Как установить чарт helm install?"


def make_app(tmp_path: Path, *, gated: bool = False, **webchat: Any) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        generator = GatedGenerator(WordStreamer(ExtractiveGenerator())) if gated else None
        kb = make_sample_kb(tmp_path / "kb")
        services = await build_services(tmp_path / "data", kb, generator=generator, **webchat)
        channel = create(services)
        assert channel is not None
        app.include_router(channel.router)
        app.state.generator = generator
        await channel.start()
        yield
        await channel.stop()
        await services.db.close()

    return FastAPI(lifespan=lifespan)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(tmp_path), client=("127.0.0.1", 50000)) as c:
        yield c


def sign_in(client: TestClient, name: str) -> dict[str, str]:
    """Headers that carry ``name``'s session cookie (each user keeps their own)."""
    r = client.post(f"{WEB}/session", json={"name": name})
    assert r.status_code == 200, r.text
    token = r.cookies[COOKIE]
    client.cookies.clear()
    return {"cookie": f"{COOKIE}={token}"}


def until(ws: Any, request_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Events per request id until each has ended (``answer.end`` or ``error``)."""
    events: dict[str, list[dict[str, Any]]] = {r: [] for r in request_ids}
    open_ids = set(request_ids)
    while open_ids:
        event = ws.receive_json()
        rid = event.get("request_id")
        if rid in events:
            events[rid].append(event)
            if event["type"] in ("answer.end", "error"):
                open_ids.discard(rid)
    return events


def ask(client: TestClient, headers: dict[str, str], text: str, **fields: Any) -> list[dict[str, Any]]:
    with client.websocket_connect(f"{WEB}/ws", headers=headers) as ws:
        ws.send_json({"type": "ask", "request_id": "r1", "text": text, **fields})
        return until(ws, {"r1"})["r1"]


def poll(fn: Any, deadline_s: float = 10.0) -> Any:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
    raise AssertionError("condition not met before the deadline")


def test_ask_streams_events_in_order_with_request_id(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    events = ask(client, alice, QUESTION_EN, role="devops", lang="en")
    types = [e["type"] for e in events]
    assert types[0] == "answer.start" and types[-1] == "answer.end"
    assert "answer.delta" in types and types.index("answer.sources") > types.index("answer.delta")
    assert all(e["request_id"] == "r1" for e in events)
    sources = next(e for e in events if e["type"] == "answer.sources")["sources"]
    assert sources and sources[0]["n"] == 1 and sources[0]["title"]
    end = events[-1]
    assert end["message_id"] and end["latency_ms"] >= 0 and end["abstained"] is False
    text = "".join(e["text"] for e in events if e["type"] == "answer.delta")
    assert "rollback" in text.lower()


def test_several_questions_in_flight_on_one_socket(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    with client.websocket_connect(f"{WEB}/ws", headers=alice) as ws:
        ws.send_json({"type": "ask", "request_id": "a", "text": QUESTION_EN})
        ws.send_json({"type": "ask", "request_id": "b", "text": QUESTION_RU})
        ws.send_json({"type": "ping", "ts": 42})
        events = until(ws, {"a", "b"})
    assert events["a"][-1]["type"] == events["b"][-1]["type"] == "answer.end"
    assert events["a"][0]["conversation_id"] != events["b"][0]["conversation_id"]
    assert events["b"][0]["lang"] == "ru"


def test_ping_pong_and_bad_messages(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    with client.websocket_connect(f"{WEB}/ws", headers=alice) as ws:
        ws.send_json({"type": "ping", "ts": 7})
        assert ws.receive_json() == {"type": "pong", "ts": 7}
        ws.send_text("{not json")
        assert ws.receive_json()["code"] == "bad_request"
        ws.send_json({"type": "ask", "request_id": "x", "lang": "ru"})
        err = ws.receive_json()
        assert err["code"] == "bad_request" and err["request_id"] == "x" and "разобрать" in err["message"]


def test_follow_up_goes_to_the_same_conversation_and_history_lists_it(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    first = ask(client, alice, QUESTION_EN, conversation_id="thread-0001")
    conv_id = first[0]["conversation_id"]
    second = ask(client, alice, "and how do I see the revision history?", conversation_id=conv_id)
    assert second[0]["conversation_id"] == conv_id
    listed = client.get(f"{WEB}/conversations", headers=alice).json()
    assert [c["id"] for c in listed] == [conv_id] and listed[0]["title"].startswith("How do I roll back")
    body = client.get(f"{WEB}/conversations/{conv_id}/messages", headers=alice).json()
    assert [m["kind"] for m in body["messages"]] == ["question", "answer", "question", "answer"]
    assert body["messages"][1]["sources"][0]["n"] == 1 and body["in_progress"] is False
    found = client.get(f"{WEB}/conversations", params={"search": "revision"}, headers=alice).json()
    assert [c["id"] for c in found] == [conv_id]


def test_feedback_over_socket_is_stored_and_returned_with_messages(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    events = ask(client, alice, QUESTION_EN)
    message_id, conv_id = events[-1]["message_id"], events[0]["conversation_id"]
    with client.websocket_connect(f"{WEB}/ws", headers=alice) as ws:
        ws.send_json(
            {
                "type": "feedback",
                "request_id": "f",
                "message_id": message_id,
                "value": -1,
                "comment": "outdated",
                "lang": "ru",
            }
        )
        ok = ws.receive_json()
    assert ok["type"] == "feedback.ok" and ok["message"] == "Спасибо за отзыв!"
    answer = client.get(f"{WEB}/conversations/{conv_id}/messages", headers=alice).json()["messages"][1]
    assert answer["vote"] == {"value": -1, "comment": "outdated"}
    assert client.post(
        f"{WEB}/feedback", json={"message_id": message_id, "value": 1}, headers=alice
    ).is_success
    answer = client.get(f"{WEB}/conversations/{conv_id}/messages", headers=alice).json()["messages"][1]
    assert answer["vote"]["value"] == 1


def test_users_never_reach_each_others_conversations(client: TestClient) -> None:
    alice, bob = sign_in(client, "Alice"), sign_in(client, "Bob")
    events = ask(client, alice, QUESTION_EN, conversation_id="alice-thread-1")
    conv_id, message_id = events[0]["conversation_id"], events[-1]["message_id"]
    assert client.get(f"{WEB}/conversations", headers=bob).json() == []
    for method, url, body in (
        ("GET", f"{WEB}/conversations/{conv_id}/messages", None),
        ("PATCH", f"{WEB}/conversations/{conv_id}", {"title": "mine now"}),
        ("DELETE", f"{WEB}/conversations/{conv_id}", None),
        ("POST", f"{WEB}/conversations/{conv_id}/human", {}),
        ("POST", f"{WEB}/feedback", {"message_id": message_id, "value": -1}),
    ):
        r = client.request(method, url, json=body, headers=bob)
        assert r.status_code == 404, (method, url, r.text)
    assert client.get(f"{WEB}/conversations/999999/messages", headers=bob).status_code == 404
    stolen = ask(client, bob, "and what else?", conversation_id=conv_id)
    assert stolen == [stolen[0]] and stolen[0]["code"] == "not_found"
    own_thread = ask(client, bob, QUESTION_EN, conversation_id="alice-thread-1")  # same id, Bob's own space
    assert own_thread[0]["conversation_id"] != conv_id
    alice_view = client.get(f"{WEB}/conversations/{conv_id}/messages", headers=alice).json()
    assert len(alice_view["messages"]) == 2


def test_rename_and_delete(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    conv_id = ask(client, alice, QUESTION_EN)[0]["conversation_id"]
    r = client.patch(f"{WEB}/conversations/{conv_id}", json={"title": "  Rollbacks  "}, headers=alice)
    assert r.json()["title"] == "Rollbacks"
    bad = client.patch(
        f"{WEB}/conversations/{conv_id}", json={"title": " "}, headers={**alice, "accept-language": "ru"}
    )
    assert bad.status_code == 422 and "Название" in bad.json()["message"]
    assert client.delete(f"{WEB}/conversations/{conv_id}", headers=alice).status_code == 204
    assert client.get(f"{WEB}/conversations", headers=alice).json() == []
    assert client.get(f"{WEB}/conversations/{conv_id}/messages", headers=alice).status_code == 404


def test_cookie_auth_required_and_tamper_proof(client: TestClient) -> None:
    assert client.get(f"{WEB}/me").status_code == 401
    alice = sign_in(client, "  Alice   Smith ")
    assert client.get(f"{WEB}/me", headers=alice).json()["name"] == "Alice Smith"
    forged = {"cookie": alice["cookie"][:-3] + "abc"}
    assert client.get(f"{WEB}/me", headers=forged).status_code == 401
    assert client.post(f"{WEB}/session", json={"name": "   "}).status_code == 422
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(f"{WEB}/ws") as ws:
        ws.receive_json()
    assert closed.value.code == 4401
    evil = {**alice, "origin": "http://evil.example"}
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"{WEB}/ws", headers=evil) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4403
    out = client.delete(f"{WEB}/session", headers=alice)
    assert out.status_code == 204 and COOKIE in out.headers["set-cookie"]


def test_session_secret_is_generated_once_and_shared(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as first:
        alice = sign_in(first, "Alice")
    with TestClient(make_app(tmp_path)) as second:  # a restart, or another replica on the same database
        assert second.get(f"{WEB}/me", headers=alice).json()["name"] == "Alice"


def test_proxy_headers_are_trusted_only_from_configured_addresses(tmp_path: Path) -> None:
    app = make_app(
        tmp_path, auth="proxy", trusted_proxies=["127.0.0.1", "10.8.0.0/16"], admins=["ops@corp.example"]
    )
    headers = {"x-forwarded-user": "alice", "x-forwarded-email": "ops@corp.example"}
    with TestClient(app, client=("10.8.3.4", 40000)) as proxied:
        me = proxied.get(f"{WEB}/me", headers=headers).json()
        assert me["name"] == "alice" and me["is_admin"] is True
        assert proxied.post(f"{WEB}/session", json={"name": "x"}).status_code == 403
        assert ask(proxied, headers, QUESTION_EN)[-1]["type"] == "answer.end"
    with TestClient(app, client=("192.168.1.9", 40000)) as direct:
        assert direct.get(f"{WEB}/me", headers=headers).status_code == 401
        with pytest.raises(WebSocketDisconnect), direct.websocket_connect(f"{WEB}/ws", headers=headers) as ws:
            ws.receive_json()


def test_rate_limit_per_user_with_a_clear_message(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, questions_per_minute=2)) as client:
        alice, bob = sign_in(client, "Alice"), sign_in(client, "Bob")
        with client.websocket_connect(f"{WEB}/ws", headers=alice) as ws:
            for rid in ("1", "2", "3"):
                ws.send_json({"type": "ask", "request_id": rid, "text": QUESTION_RU, "lang": "ru"})
            events = until(ws, {"1", "2", "3"})
        assert events["1"][-1]["type"] == events["2"][-1]["type"] == "answer.end"
        refused = events["3"][0]
        assert refused["code"] == "rate_limited" and "не больше 2 в минуту" in refused["message"]
        assert refused["retry_after"] > 0
        assert ask(client, bob, QUESTION_EN)[-1]["type"] == "answer.end"  # limits are per user


def test_size_limit_refuses_long_questions_in_the_users_language(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    events = ask(client, alice, "я" * 5000, lang="ru")
    assert events[0]["code"] == "invalid_input" and "слишком длинный" in events[0]["message"]
    with client.websocket_connect(f"{WEB}/ws", headers=alice) as ws:
        ws.send_json({"type": "ask", "request_id": "big", "text": "x" * 70_000})
        assert ws.receive_json()["code"] == "too_large"


def test_dropped_socket_keeps_the_answer_for_history(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, gated=True)) as client:
        alice = sign_in(client, "Alice")
        generator = client.app.state.generator  # type: ignore[attr-defined]
        with client.websocket_connect(f"{WEB}/ws", headers=alice) as ws:
            ws.send_json({"type": "ask", "request_id": "r", "text": QUESTION_EN})
            conv_id = ws.receive_json()["conversation_id"]
            assert ws.receive_json()["type"] == "answer.delta"
        # the socket is gone while the answer is half written
        url = f"{WEB}/conversations/{conv_id}/messages"
        during = client.get(url, headers=alice).json()
        assert during["in_progress"] is True and [m["kind"] for m in during["messages"]] == ["question"]
        client.portal.call(generator.gate.set)  # type: ignore[union-attr]
        after = poll(lambda: (b := client.get(url, headers=alice).json())["messages"][1:] and b)
        assert after["messages"][1]["kind"] == "answer" and "rollback" in after["messages"][1]["text"].lower()
        poll(lambda: client.get(url, headers=alice).json()["in_progress"] is False)


def test_popular_questions_seeded_then_from_history(client: TestClient) -> None:
    alice, bob = sign_in(client, "Alice"), sign_in(client, "Bob")
    seeded = client.get(f"{WEB}/popular", headers={**alice, "accept-language": "ru"}).json()
    assert seeded["from_history"] == 0 and seeded["questions"][0] == "Как откатить релиз Helm?"
    ask(client, alice, "Secret question of Alice about helm rollback")
    assert client.get(f"{WEB}/popular", headers=bob).json()["from_history"] == 0  # asked once: private
    ask(client, alice, QUESTION_EN)
    ask(client, alice, QUESTION_EN)
    ask(client, bob, QUESTION_EN)
    assert client.get(f"{WEB}/popular", headers=bob).json()["from_history"] == 0  # two people, not three
    ask(client, sign_in(client, "Carol"), QUESTION_EN)
    popular = client.get(f"{WEB}/popular", headers=bob).json()
    assert popular["questions"][0] == QUESTION_EN and popular["from_history"] == 1


def test_call_a_human_on_an_abstained_answer(client: TestClient) -> None:
    alice = sign_in(client, "Alice")
    events = ask(client, alice, "What is the lunch menu in the canteen on Friday?")
    assert events[-1]["abstained"] is True
    r = client.post(
        f"{WEB}/conversations/{events[0]['conversation_id']}/human", json={"lang": "ru"}, headers=alice
    )
    # no paging target is configured: the asker is told nobody was called and how to reach a human
    assert r.status_code == 200 and "Позвать человека не удалось" in r.json()["text"]
