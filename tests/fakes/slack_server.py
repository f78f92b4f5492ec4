"""A fake Slack on 127.0.0.1 (aiohttp): Web API, Socket Mode over WebSocket, signed Events API deliveries.

Web API (``POST /api/<method>``, form or JSON bodies): auth.test, chat.postMessage, chat.update,
reactions.add, conversations.replies, conversations.history, users.info, apps.connections.open (returns
``ws://127.0.0.1:<port>/socket``). Posted messages are kept per channel, so tests read what users see.
users.info shows ``profile.email`` only while ``email_scope`` is on (the ``users:read.email`` scope);
``add_user`` sets a person's name and e-mail, anyone else is ``<id>@example.test``.

Scripting: ``fail("chat.postMessage", status=429, retry_after=1)`` fails the next call with no side effect;
``fail(..., status=500, after_effect=True)`` applies the call and then answers 500 (a post that landed
although the client saw an error). ``drop_sockets()`` cuts every Socket Mode connection.

Deliveries: ``signed(body)`` gives the headers Slack signs an HTTP delivery with; ``event(...)``,
``block_action(...)`` and ``slash(...)`` build payloads; ``send_socket(kind, payload)`` pushes one in a
Socket Mode envelope and ``acked`` lists the envelope ids the app acknowledged.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from tests.fakes.server import AiohttpFake

BOT_USER = "UBOT"
BOT_ID = "BBOT"
TEAM = "T0001"


@dataclass
class Failure:
    status: int
    retry_after: int | None = None
    after_effect: bool = False


@dataclass
class Posted:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    metadata: dict[str, Any] | None
    edits: int = 0
    history: list[str] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)  # time.monotonic() of the post and of each edit


class FakeSlackServer(AiohttpFake):
    def __init__(self) -> None:
        self.posted: dict[str, list[Posted]] = defaultdict(list)
        self.calls: Counter[str] = Counter()
        self.reactions: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response_url
        self.acked: list[str] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.email_scope = True  # the app holds users:read.email: users.info shows profile.email
        self._failures: dict[str, list[Failure]] = defaultdict(list)
        self._sockets: set[web.WebSocketResponse] = set()
        self._ts = itertools.count(1)
        self.url = ""

    # --- scripting and reading ---
    def fail(self, method: str, *, status: int, retry_after: int | None = None, times: int = 1,
             after_effect: bool = False) -> None:  # fmt: skip
        self._failures[method].extend(Failure(status, retry_after, after_effect) for _ in range(times))

    def add_user(self, uid: str, name: str, email: str | None, *, is_bot: bool = False) -> None:
        """A workspace member as users.info returns them (``email`` None: a bot, or a profile without one)."""
        profile: dict[str, Any] = {"display_name": name, "real_name": name}
        if email is not None:
            profile["email"] = email
        self.users[uid] = {"id": uid, "team_id": TEAM, "name": name.lower(), "deleted": False,
                           "is_bot": is_bot, "profile": profile}  # fmt: skip

    def messages(self, channel: str, thread_ts: str | None = None) -> list[Posted]:
        return [m for m in self.posted[channel] if thread_ts is None or m.thread_ts == thread_ts]

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # --- lifecycle ---
    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/{method}", self._dispatch)
        app.router.add_get("/api/{method}", self._dispatch)  # the SDK reads users.info and friends by GET
        app.router.add_post("/response/{rid}", self._response_url)
        app.router.add_get("/socket", self._socket)

    async def on_close(self) -> None:
        await self.drop_sockets()

    # --- Web API ---
    async def _dispatch(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.content_type == "application/json":
            params.update(await request.json())
        elif request.method == "POST":
            params.update(await request.post())
        self.calls[method] += 1
        failure = self._failures[method].pop(0) if self._failures[method] else None
        if failure is not None and not failure.after_effect:
            return self._failure(failure)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        result = handler(params)
        if failure is not None:
            return self._failure(failure)
        return web.json_response(result)

    @staticmethod
    def _failure(failure: Failure) -> web.Response:
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        error = "ratelimited" if failure.status == 429 else "internal_error"
        return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)

    def new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "user": "opora"}

    def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = str(p["channel"])
        msg = Posted(channel, self.new_ts(), str(p.get("text", "")), _json(p.get("blocks")) or [],
                     p.get("thread_ts") or None, _json(p.get("metadata")))  # fmt: skip
        msg.stamps.append(time.monotonic())
        self.posted[channel].append(msg)
        return {"ok": True, "channel": channel, "ts": msg.ts, "message": {"ts": msg.ts, "text": msg.text}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(p["channel"]), str(p["ts"])
        for msg in self.posted[channel]:
            if msg.ts == ts:
                msg.history.append(msg.text)
                msg.text, msg.blocks, msg.edits = (
                    str(p.get("text", "")),
                    _json(p.get("blocks")) or [],
                    msg.edits + 1,
                )
                msg.stamps.append(time.monotonic())
                return {"ok": True, "channel": channel, "ts": ts}
        return {"ok": False, "error": "message_not_found"}

    def _m_reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        self.reactions.append(dict(p))
        return {"ok": True}

    def _listing(self, msgs: list[Posted]) -> dict[str, Any]:
        out = [{"type": "message", "ts": m.ts, "text": m.text, "bot_id": BOT_ID, "user": BOT_USER,
                "thread_ts": m.thread_ts, "metadata": m.metadata} for m in msgs]  # fmt: skip
        return {"ok": True, "messages": out, "has_more": False}

    def _m_conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._listing(self.messages(str(p["channel"]), str(p["ts"])))

    def _m_conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._listing([m for m in self.posted[str(p["channel"])] if m.thread_ts is None])

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        uid = str(p["user"])
        user = self.users.get(uid) or {"id": uid, "team_id": TEAM, "name": uid.lower(), "deleted": False,
                                        "is_bot": False, "profile": {"display_name": f"User {uid}",
                                        "email": f"{uid.lower()}@example.test"}}  # fmt: skip
        user = {**user, "profile": dict(user["profile"])}
        if not self.email_scope:  # Slack leaves the field out without users:read.email
            user["profile"].pop("email", None)
        return {"ok": True, "user": user}

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    # --- Socket Mode ---
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if "envelope_id" in data:
                        self.acked.append(data["envelope_id"])
        finally:
            self._sockets.discard(ws)
        return ws

    @property
    def socket_connections(self) -> int:
        return len(self._sockets)

    async def send_socket(self, kind: str, payload: dict[str, Any], *, retry_attempt: int = 0) -> str:
        """Push ``payload`` (``events_api``, ``interactive``, ``slash_commands``) to every connection."""
        envelope_id = uuid.uuid4().hex
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind != "events_api", "retry_attempt": retry_attempt,
                    "retry_reason": "timeout" if retry_attempt else ""}  # fmt: skip
        for ws in list(self._sockets):
            await ws.send_json(envelope)
        return envelope_id

    async def drop_sockets(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        self._sockets.clear()

    # --- payloads and signatures ---
    def response_url(self) -> str:
        return f"{self.url}/response/{uuid.uuid4().hex}"


def _json(value: Any) -> Any:
    if isinstance(value, str) and value:
        return json.loads(value)
    return value or None


def signed(
    body: str, secret: str, *, timestamp: int | None = None, retry_num: int | None = None
) -> dict[str, str]:
    """The headers Slack sends with an HTTP delivery of ``body`` (``v0`` HMAC-SHA256 signature)."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}
    if retry_num is not None:
        headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
    return headers


def event(inner: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """An ``event_callback`` envelope around ``inner`` (an app_mention, message, reaction_added...)."""
    return {"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}", "event_time": int(time.time()),
            "authorizations": [{"user_id": BOT_USER, "is_bot": True, "team_id": TEAM}],
            "event": inner}  # fmt: skip


def block_action(*, user: str, channel: str, message_ts: str, thread_ts: str | None, action_id: str,
                 value: str, response_url: str = "") -> dict[str, Any]:  # fmt: skip
    message = {"ts": message_ts, "type": "message", "bot_id": BOT_ID}
    if thread_ts:
        message["thread_ts"] = thread_ts
    return {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": user, "name": user.lower()},
            "api_app_id": "A1", "token": "legacy", "trigger_id": "1.2.3", "response_url": response_url,
            "channel": {"id": channel}, "container": {"type": "message", "message_ts": message_ts,
            "channel_id": channel}, "message": message,
            "actions": [{"action_id": action_id, "block_id": "opora", "value": value, "type": "button",
                         "action_ts": str(time.time())}]}  # fmt: skip


def slash(*, user: str, channel: str, text: str, response_url: str) -> dict[str, str]:
    return {"token": "legacy", "team_id": TEAM, "channel_id": channel, "user_id": user, "user_name": user,
            "command": "/opora", "text": text, "response_url": response_url, "trigger_id": "1.2.3",
            "api_app_id": "A1"}  # fmt: skip


def form(payload: dict[str, Any]) -> str:
    """An interactive payload as Slack posts it: ``payload=<json>`` form-encoded."""
    return urlencode({"payload": json.dumps(payload)})
