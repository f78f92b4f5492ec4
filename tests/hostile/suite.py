"""Hostile-input checks, one function per category, each returning what was tried and what was handled.

``tests/hostile/test_hostile.py`` asserts every category handles everything it tries; ``bench/hostile.py``
prints the counts for the closing note. Everything runs against the real code: the prompt builder and the
LLM client against the fake OpenAI-compatible server, the REST API and the web chat through ASGI, the
Telegram webhook against the fake Bot API, the renderers of every messenger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.api_auth import AdminCaller  # at module level: FastAPI resolves the route's annotations here
from tests.hostile.corpus import (
    BAD_URLS,
    INJECTION_DOCUMENTS,
    INJECTION_QUESTIONS,
    MARKUP,
    SECRET_API_KEY,
    SECRET_SLACK,
)


@dataclass(slots=True)
class Outcome:
    category: str
    tried: int = 0
    handled: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.tried += 1
        if ok:
            self.handled += 1
        else:
            self.failures.append(what)


# --- prompt injection: what reaches the provider ----------------------------------------------------------


def prompt_problems(messages: list[dict[str, Any]], question: str, docs: list[str]) -> list[str]:
    """What is wrong with one request to the provider (empty when the prompt is sound)."""
    from bot.prompting import neutralise

    problems: list[str] = []
    system, user = messages[0]["content"], messages[-1]["content"]
    everything = "\n".join(m["content"] for m in messages)
    for secret in (SECRET_API_KEY, SECRET_SLACK):
        if secret in everything:
            problems.append("a secret reached the provider")
    for text in [question, *docs]:
        probe = text.strip()[:30]
        if probe and probe in system:
            problems.append(f"user or document text in the system prompt: {probe!r}")
    if user.count("<passages>") != 1 or user.count("</passages>") != 1:
        problems.append("the <passages> fence is broken")
    opened, closed = len(re.findall(r"<passage n=", user)), len(re.findall(r"</passage>", user))
    if opened != len(docs) or closed != len(docs):
        problems.append(f"{opened} passages opened, {closed} closed, {len(docs)} expected")
    start, end = user.find("<passages>"), user.rfind("</passages>")
    for doc in docs:
        at = user.find(neutralise(doc.strip()))
        if not start < at < end:
            problems.append(f"document text outside the fence: {doc[:30]!r}")
    if question.strip() and user.rfind(neutralise(question.strip())) < end:
        problems.append("the question is inside or before the fence")
    return problems


@asynccontextmanager
async def llm_generator() -> AsyncIterator[tuple[Any, Any]]:
    from bot.llm_answer import LLMAnswerGenerator
    from providers.breaker import CircuitBreaker
    from providers.limits import ProviderLimits
    from providers.openai_compat import OpenAICompatProvider
    from providers.router import ProviderRouter, Route
    from providers.settings import ProviderSettings
    from tests.fakes.openai_server import FakeOpenAIServer, Reply

    fake = FakeOpenAIServer(api_key=SECRET_API_KEY)
    fake.default = Reply(tokens=["Use ", "`helm rollback` ", "[1]."])
    await fake.start()
    settings = ProviderSettings(kind="openai", base_url=fake.base_url, model="m", total_timeout=20.0)
    provider = OpenAICompatProvider("deepseek", settings, api_key=SECRET_API_KEY)
    router = ProviderRouter(
        [Route(provider, CircuitBreaker(failure_threshold=100, cooldown=1), ProviderLimits())], budget=30.0
    )
    generator = LLMAnswerGenerator(router, fallback=_NoFallback())
    try:
        yield generator, fake
    finally:
        await router.aclose()
        await fake.close()


class _NoFallback:
    name = "none"

    async def generate(self, request: Any) -> AsyncIterator[Any]:
        raise AssertionError("the provider should have answered")
        yield  # pragma: no cover


async def prompt_injection(where: str) -> Outcome:
    from bot.generation import GenerationRequest, TextDelta
    from bot.types import Passage

    out = Outcome(f"prompt injection in {where}")
    benign = "Roll back a release with `helm rollback <release> <revision>`."
    cases = INJECTION_QUESTIONS if where == "questions" else INJECTION_DOCUMENTS
    async with llm_generator() as (generator, fake):
        for n, (lang, text) in enumerate(cases):
            question = text if where == "questions" else "How do I roll back a helm release?"
            docs = [benign] if where == "questions" else [text, benign]
            passages = [
                Passage(f"c{i}", f"d{i}", d, f"Doc {i}", None, f"https://kb.example/{i}", None, lang, 0.9, 1)
                for i, d in enumerate(docs)
            ]
            request = GenerationRequest(question, lang, "default", passages, conversation_key=f"hostile:{n}")
            answer = ""
            async for event in generator.generate(request):
                if isinstance(event, TextDelta):
                    answer += event.text
            problems = prompt_problems(fake.requests[-1]["messages"], question, docs)
            system = fake.requests[-1]["messages"][0]["content"]
            if system[:60] in answer or SECRET_API_KEY in answer:
                problems.append("our answer echoes the system prompt or a secret")
            out.check(not problems, f"{text[:50]!r}: {problems}")
    return out


# --- markup on every surface ------------------------------------------------------------------------------

_TELEGRAM_TAGS = {"b", "i", "s", "u", "code", "pre", "a", "blockquote"}


def _surfaces(text: str, url: str | None) -> dict[str, str]:
    from adapters.formatting import mattermost_parts, slack_sections, telegram_parts
    from adapters.rendering import Draft
    from adapters.webchat.protocol import source_dicts
    from bot.types import Source

    sources = [Source(title=text[:80], url=url, path="p.md", score=0.9)]
    draft = Draft(text=f"Answer: {text}", lang="en", final=True, sources=sources)
    return {
        "slack": "\n".join(slack_sections(draft)),
        "telegram": "\n".join(telegram_parts(draft)),
        "mattermost": "\n".join(mattermost_parts(draft)),
        "webchat": json.dumps(source_dicts(sources), ensure_ascii=False),
    }


def markup_problems(surface: str, rendered: str) -> list[str]:
    problems = []
    low = rendered.lower()
    if surface == "slack":
        if re.search(r"<!(channel|here|everyone)|<@u|<#c|<javascript:|<data:|<vbscript:", low):
            problems.append("live Slack markup from the input")
        if "<script" in low or "<img" in low:
            problems.append("raw HTML")
    elif surface == "telegram":
        tags = {t.lower() for t in re.findall(r"</?([a-zA-Z][\w-]*)", rendered)}
        if tags - _TELEGRAM_TAGS:
            problems.append(f"unknown tags {sorted(tags - _TELEGRAM_TAGS)}")
        for tag in re.findall(r"<[a-zA-Z][^>]*>", rendered):  # real tags only; escaped text is inert
            if re.search(r"href=\"(?!https?://)", tag) or re.search(r"\son\w+=", tag.lower()):
                problems.append(f"unsafe link or handler in {tag}")
    elif surface == "mattermost":
        # code spans and fenced blocks are literal in Markdown: look only at the rest
        rendered = re.sub(r"(`{3,}).*?\1|`[^`\n]*`", "", rendered, flags=re.DOTALL)
        if re.search(r"(?<!\\)\]\((?!https?://)", rendered) or re.search(r"(?<!\\)!\[", rendered):
            problems.append("unsafe link or image")
        if re.search(r"(?<![\w\\])@(channel|here|all)\b", rendered):
            problems.append("mass mention")
    if surface == "webchat":
        for src in json.loads(rendered):
            if src["url"] is not None and not re.match(r"^https?://", src["url"]):
                problems.append("unsafe source URL")
    return problems


async def markup_everywhere() -> Outcome:
    out = Outcome("XSS / Markdown injection (4 surfaces)")
    for text in MARKUP:
        for surface, rendered in _surfaces(text, "https://kb.example/page").items():
            problems = markup_problems(surface, rendered)
            out.check(not problems, f"{surface}: {text[:40]!r}: {problems}")
    return out


async def urls_everywhere() -> Outcome:
    """A ``javascript:`` (or any non-http) URL never becomes a link: loader, API, web chat, messengers."""
    from rag.loaders.folder import FolderLoader

    out = Outcome("non-http(s) URLs (loader + 5 renderers)")
    with tempfile.TemporaryDirectory() as tmp:
        pages = {
            f"p{n}.md": f"---\ntitle: P{n}\nurl: {json.dumps(url)}\n---\n# P\n\nBody.\n"
            for n, url in enumerate(BAD_URLS)
        }
        await asyncio.to_thread(lambda: [Path(tmp, k).write_text(v) for k, v in pages.items()])
        docs = [d async for d in FolderLoader(tmp).load()]
        for doc in docs:
            out.check(doc.url is None, f"loader kept {doc.url!r}")
    for url in BAD_URLS:
        rendered = _surfaces("Title", url)
        for surface, text in rendered.items():
            ok = url.strip() == "" or (
                url not in text if surface != "webchat" else json.loads(text)[0]["url"] is None
            )
            if surface == "slack":
                ok = ok and f"<{url.strip()}" not in text
            out.check(ok, f"{surface} rendered {url!r} as a link")
        from adapters.api import SourcePublic  # the REST answer's sources
        from rag.urls import http_url

        out.check(SourcePublic(title="t", url=http_url(url), path=None, score=1).url is None, f"api {url!r}")
    return out


# --- the HTTP surfaces ------------------------------------------------------------------------------------


@asynccontextmanager
async def sample_app(**settings: Any) -> AsyncIterator[tuple[Any, Any]]:
    """The real app (REST API + web chat) over the sample core, no embeddings: fast."""
    from adapters.webchat import create as create_webchat
    from bot.app import create_app
    from tests.webchat.sample import build_services, make_sample_kb

    with tempfile.TemporaryDirectory() as tmp:
        kb = make_sample_kb(Path(tmp, "kb"))
        services = await build_services(Path(tmp, "data"), kb)
        for key, value in settings.items():
            setattr(services.settings.api, key, value)
        app = create_app(services.settings, channels=())
        chat = create_webchat(services)
        assert chat is not None
        app.include_router(chat.router)
        app.state.services = services
        await chat.start()
        try:
            yield app, services
        finally:
            # answers run under a TestClient live in that client's (now closed) loop: nothing left to drain
            with contextlib.suppress(RuntimeError):
                await chat.stop()
            await services.db.close()


def _client(app: Any, token: str | None = None, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    transport = httpx.ASGITransport(app=app, client=(peer, 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://opora", headers=headers)


def _json_error(r: httpx.Response, statuses: set[int]) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return r.status_code in statuses and isinstance(body, dict) and ("error" in body or "code" in body)


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 65536 + 1):
        yield b"[" * 65536


async def malformed_bodies() -> Outcome:
    out = Outcome("oversized / binary / invalid UTF-8 / nested JSON")
    bodies: list[tuple[str, Any, dict[str, str]]] = [
        ("oversized declared", b"x" * 300_000, {}),
        ("oversized streamed", None, {}),
        ("binary", bytes(range(256)) * 4, {}),
        ("invalid utf-8", b'{"text": "\xff\xfe", "user_id": "u"}', {}),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000, {}),
        ("deep object", b'{"a":' * 5000 + b"1" + b"}" * 5000, {}),
        ("wrong types", json.dumps({"text": ["x"], "user_id": {"a": 1}}).encode(), {}),
        ("nul bytes", json.dumps({"text": "a\u0000b" * 10, "user_id": "u\u0000"}).encode(), {}),
        ("huge number", b'{"message_id": 1' + b"0" * 5000 + b', "user_id": "u", "value": 1}', {}),
        ("empty", b"", {}),
        ("not json type", b"text=hello&user_id=u", {"content-type": "application/x-www-form-urlencoded"}),
        ("lying length", b'{"text": "hi", "user_id": "u"}' + b" " * 300_000, {"content-length": "30"}),
    ]
    async with sample_app() as (app, _), _client(app) as c:
        for name, body, extra in bodies:
            for path in ("/api/v1/ask", "/api/v1/feedback", "/api/v1/web/session"):
                try:
                    content = _chunks(400_000) if body is None else body
                    headers = {"content-type": "application/json", **extra}
                    r = await c.post(path, content=content, headers=headers)
                    ok = 400 <= r.status_code < 500 and _json_error(r, set(range(400, 500)))
                    what = f"{r.status_code}"
                except Exception as exc:  # a transport-level refusal of a lying body is fine too
                    ok = name == "lying length" and isinstance(exc, httpx.HTTPError | RuntimeError)
                    what = type(exc).__name__
                out.check(ok, f"{name} → {path}: {what}")
    return out


async def others_data() -> Outcome:
    """Other users' conversations, answers and votes: through the API (tokens) and the web chat."""
    out = Outcome("other users' data (API + web chat)")
    async with sample_app(require_token=True) as (app, services):
        _, token_a = await services.tokens.create("team-a")
        _, token_b = await services.tokens.create("team-b")
        async with _client(app, token_a) as a, _client(app, token_b) as b:
            first = (await a.post("/api/v1/ask", json={"text": "helm rollback", "user_id": "ann"})).json()
            mid, sid = first["message_id"], first["session_id"]
            r = await b.post("/api/v1/feedback", json={"message_id": mid, "user_id": "ann", "value": -1})
            out.check(r.status_code == 404, "B votes on A's answer")
            r = await a.post("/api/v1/feedback", json={"message_id": mid, "user_id": "bob", "value": -1})
            out.check(r.status_code == 404, "A's bob votes on A's ann's answer")
            r = await b.post("/api/v1/ask", json={"text": "and then?", "user_id": "ann", "session_id": sid})
            out.check(r.status_code == 200, f"B asks with A's session id: {r.status_code}")
            same = await _same_conversation(services, mid, r.json()["message_id"])
            out.check(not same, "B's ann joined A's ann's conversation")
            for probe in range(1, mid + 3):
                r = await b.post("/api/v1/feedback", json={"message_id": probe, "user_id": "x", "value": 1})
                out.check(r.status_code == 404, f"B enumerates answer {probe}")
        async with _client(app) as web:
            alice = (await web.post("/api/v1/web/session", json={"name": "Alice"})).cookies
            web.cookies.clear()
            bob = (await web.post("/api/v1/web/session", json={"name": "Bob"})).cookies
            web.cookies.clear()
            convs = await _web_conversation(app, alice)
            for method, path, body in [
                ("GET", f"/api/v1/web/conversations/{convs}/messages", None),
                ("POST", f"/api/v1/web/conversations/{convs}/human", {}),
                ("PATCH", f"/api/v1/web/conversations/{convs}", {"title": "mine now"}),
                ("DELETE", f"/api/v1/web/conversations/{convs}", None),
            ]:
                r = await web.request(method, path, json=body, cookies=dict(bob))
                out.check(r.status_code == 404, f"Bob {method} {path}: {r.status_code}")
    return out


async def _same_conversation(services: Any, a: int, b: int) -> bool:
    from storage.models import Message

    async with services.db.session() as s:
        ma, mb = await s.get(Message, a), await s.get(Message, b)
    return ma.conversation_id == mb.conversation_id


async def _web_conversation(app: Any, cookies: Any) -> int:
    """Alice asks over the WebSocket; the id of her conversation."""
    from starlette.testclient import TestClient

    def ask() -> int:
        with TestClient(app, client=("127.0.0.1", 5000)) as tc:
            tc.cookies.update(dict(cookies))
            with tc.websocket_connect("/api/v1/web/ws") as ws:
                ws.send_json({"type": "ask", "request_id": "r1", "text": "How do I roll back helm?"})
                while ws.receive_json()["type"] not in ("answer.end", "error"):
                    pass
            return int(tc.get("/api/v1/web/conversations").json()[0]["id"])

    return await asyncio.to_thread(ask)


async def scopes_and_admin() -> Outcome:
    """Routes that need a scope, called without it (or without any token)."""
    from fastapi import APIRouter

    out = Outcome("admin routes and scopes without them")
    async with sample_app(require_token=True) as (app, services):
        probe = APIRouter()

        @probe.get("/api/v1/hostile/admin-probe")
        async def admin_probe(caller: AdminCaller) -> dict[str, bool]:
            return {"ok": True}

        app.include_router(probe)
        _, ask_only = await services.tokens.create("asker", ("ask",))
        _, feedback_only = await services.tokens.create("voter", ("feedback",))
        info, revoked = await services.tokens.create("gone", ("ask", "feedback", "admin"))
        await services.tokens.revoke(str(info.id))
        calls = [("GET", "/api/v1/hostile/admin-probe", None)]
        calls += [("POST", "/api/v1/ask", {"text": "helm", "user_id": "u"})]
        calls += [("POST", "/api/v1/feedback", {"message_id": 1, "user_id": "u", "value": 1})]
        for token in (None, ask_only, feedback_only, revoked, "opora_forged", "Basic x"):
            async with _client(app, token) as c:
                for method, path, body in calls:
                    r = await c.request(method, path, json=body)
                    allowed = (token == ask_only and path.endswith("/ask")) or (
                        token == feedback_only and path.endswith("/feedback")
                    )
                    ok = (
                        (r.status_code < 500 and r.status_code != 403 and r.status_code != 401)
                        if allowed
                        else (r.status_code in (401, 403) and _json_error(r, {401, 403}))
                    )
                    out.check(ok, f"{str(token)[:10]} {path}: {r.status_code}")
        async with _client(app, peer="10.9.9.9") as c:  # tokenless from the network in local mode
            services.settings.api.require_token = False
            r = await c.get("/api/v1/hostile/admin-probe")
            out.check(r.status_code == 403, f"tokenless remote admin: {r.status_code}")
    return out


# --- WebSocket frames --------------------------------------------------------------------------------------

WS_FRAMES: list[tuple[str, str | bytes]] = [
    ("not json", "hello"),
    ("binary garbage", bytes(range(256))),
    ("invalid utf-8", b'{"type": "ping", "ts": "\xff"}'),
    ("deep nesting", "[" * 50_000 + "]" * 50_000),
    ("oversized", json.dumps({"type": "ask", "request_id": "big", "text": "x" * 70_000})),
    ("unknown type", json.dumps({"type": "shutdown", "request_id": "u"})),
    ("wrong types", json.dumps({"type": "ask", "request_id": 5, "text": ["x"]})),
    ("no type", json.dumps({"text": "hi"})),
    ("array", "[1, 2, 3]"),
    ("null", "null"),
    ("nul in text", json.dumps({"type": "ask", "request_id": "n", "text": "\u0000" * 5})),
    (
        "feedback on a foreign id",
        json.dumps({"type": "feedback", "request_id": "f", "message_id": 1, "value": 1}),
    ),
    ("huge request id", json.dumps({"type": "ping", "ts": 1, "request_id": "r" * 10_000})),
    ("markup question", json.dumps({"type": "ask", "request_id": "m", "text": "<script>alert(1)</script>"})),
]


def ws_frames_sync(app: Any, frames: list[tuple[str, str | bytes]]) -> Outcome:
    from starlette.testclient import TestClient

    out = Outcome("WebSocket frames")
    with TestClient(app, client=("127.0.0.1", 5000)) as tc:
        tc.post("/api/v1/web/session", json={"name": "Mallory"})
        with tc.websocket_connect("/api/v1/web/ws") as ws:
            for n, (name, frame) in enumerate(frames):
                if isinstance(frame, bytes):
                    ws.send_bytes(frame)
                else:
                    ws.send_text(frame)
                ws.send_json({"type": "ping", "ts": n})  # the socket must still answer afterwards
                seen = []
                while (event := ws.receive_json())["type"] != "pong" or event.get("ts") != n:
                    seen.append(event)
                leaked = any("<script" in json.dumps(e) and e.get("type") == "error" for e in seen)
                out.check(not leaked, f"{name}: {seen[-1:] if seen else 'no reply'}")
    return out


async def ws_frames() -> Outcome:
    async with sample_app() as (app, _):
        return await asyncio.to_thread(ws_frames_sync, app, WS_FRAMES)


# --- webhooks ----------------------------------------------------------------------------------------------


async def telegram_webhooks() -> Outcome:
    from fastapi import FastAPI

    from adapters.telegram import TelegramChannel
    from bot.config import TelegramSettings
    from tests.adapters import tg_updates as tg
    from tests.fakes.telegram_server import FakeTelegramServer
    from tests.webchat.sample import build_services, make_sample_kb

    out = Outcome("Telegram webhook: forged, replayed, malformed")
    fake = FakeTelegramServer(bot_id=tg.BOT_ID, username=tg.BOT_USERNAME)
    await fake.start()
    with tempfile.TemporaryDirectory() as tmp:
        services = await build_services(Path(tmp, "data"), make_sample_kb(Path(tmp, "kb")))
        settings = TelegramSettings(bot_token=fake.token, mode="webhook", webhook_secret="right-Secret_1",
                                    api_url=fake.url, edit_interval=0.05)  # fmt: skip
        channel = TelegramChannel(services, settings)
        await channel.start()
        api = FastAPI()
        api.include_router(channel.router)  # type: ignore[arg-type]
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as c:
                update = json.dumps(tg.update(tg.message("How do I roll back helm?"))).encode()

                async def post(body: bytes, secret: str | None) -> int:
                    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
                    return (await c.post("/telegram/webhook", content=body, headers=headers)).status_code

                for secret in (None, "", "wrong", "right-Secret_", "right-Secret_1 ", "RIGHT-SECRET_1"):
                    out.check(await post(update, secret) == 401, f"forged secret {secret!r}")
                for body in (b"nope", b"\xff\xfe", b"[]", b"{}", b'{"update_id": "1"}', b"{" * 3000):
                    out.check(await post(body, "right-Secret_1") == 400, f"malformed {body[:12]!r}")
                statuses = [await post(update, "right-Secret_1") for _ in range(3)]
                await channel.idle()
                answers = [m for m in fake.sent() if m.reply_markup]
                out.check(statuses == [200] * 3 and len(answers) == 1, f"replayed x3: {len(answers)} answers")
        finally:
            await channel.stop()
            await services.db.close()
            await fake.close()
    return out


async def slack_webhooks() -> Outcome:
    import time as clock

    from fastapi import FastAPI
    from sqlalchemy import func, select

    from adapters.slack import SlackChannel
    from bot.config import SlackSettings
    from storage.models import Message
    from tests.adapters.conftest import wait_for
    from tests.fakes.slack_server import BOT_USER, FakeSlackServer, event, signed
    from tests.webchat.sample import build_services, make_sample_kb

    out = Outcome("Slack events: forged, stale, replayed")
    fake = FakeSlackServer()
    await fake.start()
    secret = "hostile-signing-secret"
    text = f"<@{BOT_USER}> How do I roll back helm?"
    mention = {"type": "app_mention", "user": "U1", "text": text, "ts": "100.000001", "channel": "C1"}
    body = json.dumps(event(mention, event_id="EvHostile1"))
    now = int(clock.time())
    forged = [
        ("wrong secret", body, signed(body, "not-the-secret")),
        ("stale", body, signed(body, secret, timestamp=now - 600)),
        ("future", body, signed(body, secret, timestamp=now + 600)),
        ("tampered body", body.replace("roll back", "drop prod"), signed(body, secret)),
        ("no signature", body, {}),
        ("garbage signature", body, {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=0"}),
    ]

    async def questions(services: Any) -> int:
        async with services.db.session() as s:
            stmt = select(func.count()).select_from(Message).where(Message.kind == "question")
            return int((await s.execute(stmt)).scalar_one())

    with tempfile.TemporaryDirectory() as tmp:
        services = await build_services(Path(tmp, "data"), make_sample_kb(Path(tmp, "kb")))
        settings = SlackSettings(bot_token="xoxb-x", signing_secret=secret, mode="http", api_url=fake.api_url)
        channel = SlackChannel(services, settings)
        api = FastAPI()
        api.include_router(channel.router)  # type: ignore[arg-type]
        await channel.start()
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as c:
                for name, sent, headers in forged:
                    headers = {"content-type": "application/json", **headers}
                    r = await c.post("/slack/events", content=sent, headers=headers)
                    out.check(r.status_code == 401, f"{name}: {r.status_code}")
                statuses = []
                for retry in (None, 1, 2):  # Slack's retries of one event id
                    headers = {"content-type": "application/json", **signed(body, secret, retry_num=retry)}
                    r = await c.post("/slack/events", content=body, headers=headers)
                    statuses.append(r.status_code)
                await wait_for(
                    lambda: any(m.blocks and m.blocks[-1]["type"] == "actions"
                                for m in fake.messages("C1", "100.000001")),
                    what="the finished answer",
                )  # fmt: skip
                asked = await questions(services)
                out.check(statuses == [200] * 3 and asked == 1, f"replayed x3: {asked} questions")
        finally:
            await channel.stop()
            await services.db.close()
            await fake.close()
    return out


CATEGORIES: dict[str, Callable[[], Awaitable[Outcome]]] = {
    "injection_questions": lambda: prompt_injection("questions"),
    "injection_documents": lambda: prompt_injection("documents"),
    "markup": markup_everywhere,
    "urls": urls_everywhere,
    "bodies": malformed_bodies,
    "others_data": others_data,
    "scopes": scopes_and_admin,
    "websocket": ws_frames,
    "telegram": telegram_webhooks,
    "slack": slack_webhooks,
}
