"""REST API authentication: bearer tokens, scopes, namespaced users, ownership of votes, rate limits."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import select

from adapters.api_auth import AdminCaller
from bot.app import create_app
from storage.models import ApiToken, Conversation, Message

QUESTION = {"text": "How do I roll back a helm release?", "user_id": "ann"}


def make_app(core):
    app = create_app(core.settings, channels=())
    probe = APIRouter()

    @probe.get("/test/admin-only")
    async def admin_only(caller: AdminCaller) -> dict[str, str]:
        return {"token": caller.token.name if caller.token else "tokenless"}

    app.include_router(probe)
    app.state.services = core
    return app


def client_for(app, peer: str = "127.0.0.1", token: str | None = None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://opora", headers=headers)


@pytest.fixture
def secured(core):
    core.settings.api.require_token = True
    return make_app(core)


async def test_without_a_token_the_api_answers_401_with_the_json_error(secured) -> None:
    async with client_for(secured) as c:
        r = await c.post("/api/v1/ask", json=QUESTION, headers={"accept-language": "ru"})
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["error"]["code"] == "unauthorized" and "токен" in r.json()["error"]["message"]
        for bad in ("Bearer opora_nope", "Basic dXNlcjpwYXNz", "Bearer", "opora_x", "Bearer  \t"):
            r = await c.post("/api/v1/feedback", json={"message_id": 1, "user_id": "u", "value": 1},
                             headers={"authorization": bad})  # fmt: skip
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", bad
        assert (await c.get("/healthz")).status_code == 200  # probes stay open


async def test_a_token_is_stored_hashed_and_works_until_revoked(secured, core) -> None:
    _, token = await core.tokens.create("ci-bot", ("ask", "feedback"))
    async with core.db.session() as s:
        rows = list((await s.execute(select(ApiToken))).scalars())
    assert len(rows) == 1 and token not in repr(vars(rows[0])) and rows[0].token_hash != token
    assert rows[0].prefix == token[:12]
    async with client_for(secured, token=token) as c:
        r = await c.post("/api/v1/ask", json=QUESTION)
        assert r.status_code == 200, r.text
        await core.tokens.revoke("ci-bot")
        r = await c.post("/api/v1/ask", json=QUESTION)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert (await core.tokens.list(include_revoked=True))[0].last_used_at is not None


async def test_scopes_are_enforced(secured, core) -> None:
    _, ask_only = await core.tokens.create("asker", ("ask",))
    _, admin = await core.tokens.create("ops", ("admin",))
    async with client_for(secured, token=ask_only) as c:
        answer = (await c.post("/api/v1/ask", json=QUESTION)).json()
        r = await c.post(
            "/api/v1/feedback", json={"message_id": answer["message_id"], "user_id": "ann", "value": 1}
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden" and "feedback" in r.text
        r = await c.get("/test/admin-only")
        assert r.status_code == 403 and "admin" in r.json()["error"]["message"]
    async with client_for(secured, token=admin) as c:
        assert (await c.get("/test/admin-only")).json() == {"token": "ops"}
        assert (await c.post("/api/v1/ask", json=QUESTION)).status_code == 403
    async with client_for(secured) as c:
        assert (await c.get("/test/admin-only")).status_code == 401


async def test_user_ids_are_namespaced_by_token(secured, core) -> None:
    _, a = await core.tokens.create("team-a")
    _, b = await core.tokens.create("team-b")
    async with client_for(secured, token=a) as ca, client_for(secured, token=b) as cb:
        first = (await ca.post("/api/v1/ask", json=QUESTION)).json()
        # same user_id, same session id, other token: a different person in a different conversation
        other = (await cb.post("/api/v1/ask", json={**QUESTION, "session_id": first["session_id"]})).json()
        # and team B's "ann" cannot vote on team A's "ann"'s answer
        r = await cb.post(
            "/api/v1/feedback", json={"message_id": first["message_id"], "user_id": "ann", "value": -1}
        )
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = await ca.post(
            "/api/v1/feedback", json={"message_id": first["message_id"], "user_id": "ann", "value": 1}
        )
        assert r.status_code == 200
    async with core.db.session() as s:
        m1, m2 = await s.get(Message, first["message_id"]), await s.get(Message, other["message_id"])
        c1, c2 = await s.get(Conversation, m1.conversation_id), await s.get(Conversation, m2.conversation_id)
    assert c1.owner_id != c2.owner_id and c1.id != c2.id
    assert c1.channel.endswith(":ann") and c1.channel != c2.channel


async def test_votes_only_on_ones_own_answers(core) -> None:
    app = make_app(core)  # local mode: tokenless callers, still one user per user_id
    async with client_for(app) as c:
        mine = (await c.post("/api/v1/ask", json=QUESTION)).json()["message_id"]
        r = await c.post("/api/v1/feedback", json={"message_id": mine, "user_id": "mallory", "value": -1})
        assert r.status_code == 404
        r = await c.post("/api/v1/feedback", json={"message_id": mine - 1, "user_id": "ann", "value": -1})
        assert r.status_code == 404  # the question row is not an answer
        r = await c.post("/api/v1/feedback", json={"message_id": mine, "user_id": "ann", "value": -1})
        assert r.status_code == 200


async def test_per_token_rate_limit_answers_429_with_retry_after(secured, core) -> None:
    _, token = await core.tokens.create("tight", ("ask", "feedback"), rate_per_minute=2)
    _, other = await core.tokens.create("roomy")
    async with client_for(secured, token=token) as c, client_for(secured, token=other) as o:
        bad_vote = {"message_id": 999999, "user_id": "u", "value": 1}
        assert [(await c.post("/api/v1/feedback", json=bad_vote)).status_code for _ in range(2)] == [404, 404]
        r = await c.post("/api/v1/feedback", json=bad_vote, headers={"accept-language": "ru"})
        assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(r.headers["retry-after"]) <= 30 and "минуту" in r.json()["error"]["message"]
        assert (await o.post("/api/v1/feedback", json=bad_vote)).status_code == 404  # its own bucket


async def test_local_mode_asks_without_a_token_but_admin_routes_need_one(core) -> None:
    assert core.settings.mode == "local" and core.settings.api.require_token is False
    app = make_app(core)
    for peer in ("127.0.0.1", "10.1.2.3"):  # one's own machine is no exception for operator routes
        async with client_for(app, peer=peer) as c:
            assert (await c.post("/api/v1/ask", json=QUESTION)).status_code == 200
            assert (await c.get("/test/admin-only")).status_code == 403
    _, admin = await core.tokens.create("ops", ("admin",))
    async with client_for(app, token=admin) as c:
        assert (await c.get("/test/admin-only")).status_code == 200
    async with client_for(app, peer="10.1.2.3") as c:
        assert (await c.post("/api/v1/ask", json=QUESTION)).status_code == 200
        assert (await c.get("/test/admin-only")).status_code == 403
    async with client_for(app, token="opora_forged") as c:  # a token, once sent, must be valid
        assert (await c.post("/api/v1/ask", json=QUESTION)).status_code == 401


def test_require_token_defaults_follow_the_mode() -> None:
    from bot.config import Settings

    assert Settings(mode="local").api.require_token is False
    web = {"auth": "proxy"}
    assert Settings(mode="production", webchat=web).api.require_token is True
    assert Settings(mode="production", webchat=web, api={"require_token": False}).api.require_token is False


async def test_openapi_declares_the_bearer_scheme(core) -> None:
    async with client_for(make_app(core)) as c:
        spec = (await c.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/ask"]["post"]["security"]
