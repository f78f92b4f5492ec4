"""A fake Mattermost server on 127.0.0.1 (aiohttp): the v4 REST calls Opora uses and the WebSocket stream.

REST: ``GET /api/v4/users/me``; ``GET /api/v4/users/{id}`` (``email`` blanked unless ``show_email``, as
PrivacySettings.ShowEmailAddress does for a non-admin caller; ``email_verified``);
``GET /api/v4/channels/{id}`` (``type`` O/P/D/G); ``POST /api/v4/posts``; ``PUT /api/v4/posts/{id}/patch``;
``POST /api/v4/reactions``; ``DELETE /api/v4/users/{uid}/posts/{pid}/reactions/{emoji}``. Bearer token
checked. A person who posts without ``add_user`` exists as ``<id>@example.test``, verified; a channel has
the type it was first posted in with.
WebSocket ``/api/v4/websocket``: the client authenticates with the ``authentication_challenge``
action, gets ``hello`` (seq 0, a ``connection_id``), then events with an increasing ``seq``. A client that
reconnects with ``?connection_id=…&sequence_number=N`` gets the events from ``N`` on replayed (Mattermost's
reliable websockets), events broadcast while it was away included.

Scripting: ``fail("POST /posts", status=429, retry_after=0.2)``; ``drop_socket()`` closes the live socket
abruptly; ``replay_overlap`` makes a resume also resend the last event the client already had.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.server import AiohttpFake


@dataclass
class Failure:
    status: int
    retry_after: float | None = None


@dataclass
class Post:
    id: str
    channel_id: str
    user_id: str
    message: str
    root_id: str = ""
    props: dict[str, Any] = field(default_factory=dict)
    edits: int = 0
    stamps: list[float] = field(default_factory=lambda: [time.monotonic()])  # creation and each edit
    create_at: int = field(default_factory=lambda: int(time.time() * 1000))

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel_id": self.channel_id,
            "user_id": self.user_id,
            "message": self.message,
            "root_id": self.root_id,
            "props": self.props,
            "create_at": self.create_at,
            "type": "",
        }


@dataclass
class _Connection:
    id: str
    seq: int = 0  # the next seq to send
    sent: list[dict[str, Any]] = field(default_factory=list)  # every event, for replay
    socket: web.WebSocketResponse | None = None
    transport: asyncio.BaseTransport | None = None


def new_id() -> str:
    return uuid.uuid4().hex[:26]


class FakeMattermostServer(AiohttpFake):
    def __init__(self, token: str = "mm-bot-token", bot_user_id: str = "botuser0000000000000000000"):
        self.token = token
        self.bot_user_id = bot_user_id
        self.bot_username = "opora"
        self.posts: dict[str, Post] = {}
        self.reactions: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, deque[Failure]] = defaultdict(deque)
        self.latency = 0.0
        self.replay_overlap = False
        self.connects = 0
        self.resumes = 0
        self.connections: dict[str, _Connection] = {}
        self.live: _Connection | None = None
        self._authed = asyncio.Event()
        self._pending: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}  # user id → profile fields (``username``, ``email``, …)
        self.channel_types: dict[str, str] = {}
        self.show_email = True  # System Console → Users and Teams → Show Email Address
        self.url = ""

    # ----- scripting and inspection -----
    def fail(self, route: str, *, status: int, retry_after: float | None = None, times: int = 1) -> None:
        self.failures[route].extend(Failure(status, retry_after) for _ in range(times))

    def add_user(self, user_id: str, username: str, email: str, *, email_verified: bool = True) -> None:
        self.users[user_id] = {"id": user_id, "username": username, "email": email,
                               "email_verified": email_verified, "delete_at": 0, "is_bot": False}  # fmt: skip

    def bot_posts(self, root_id: str | None = None) -> list[Post]:
        return [
            p
            for p in self.posts.values()
            if p.user_id == self.bot_user_id and (root_id is None or p.root_id == root_id)
        ]

    def count(self, route: str) -> int:
        return sum(1 for name, _ in self.calls if name == route)

    async def wait_connected(self) -> None:
        async with asyncio.timeout(5):
            await self._authed.wait()

    async def drop_socket(self) -> None:
        """Close the live socket without a goodbye, as a proxy restart would."""
        self._authed.clear()
        if self.live is not None and self.live.transport is not None:
            transport, self.live.socket, self.live.transport = self.live.transport, None, None
            transport.abort()

    async def user_post(
        self,
        *,
        user_id: str,
        channel_id: str,
        message: str,
        root_id: str = "",
        channel_type: str = "O",
        mentions: list[str] | None = None,
        from_bot: bool = False,
        typed_event: bool = True,
    ) -> Post:
        """A person (or another bot) posts: stored and broadcast as a ``posted`` event.

        ``typed_event=False`` leaves ``channel_type`` out of the event (the client must look it up)."""
        post = Post(id=new_id(), channel_id=channel_id, user_id=user_id, message=message, root_id=root_id)
        if from_bot:
            post.props["from_bot"] = "true"
        self.posts[post.id] = post
        self.channel_types.setdefault(channel_id, channel_type)
        if user_id not in self.users and not from_bot:
            self.add_user(user_id, user_id[:8], f"{user_id}@example.test")
        kind = channel_type if typed_event else None
        await self.broadcast_posted(post, channel_type=kind, mentions=mentions)
        return post

    async def broadcast_posted(
        self, post: Post, *, channel_type: str | None = "O", mentions: list[str] | None = None
    ) -> None:
        data: dict[str, Any] = {"post": json.dumps(post.json()), "sender_name": "@" + post.user_id}
        if channel_type is not None:
            data["channel_type"] = channel_type
        if mentions:
            data["mentions"] = json.dumps(mentions)
        await self.broadcast("posted", data, channel_id=post.channel_id)

    async def react(self, *, user_id: str, post_id: str, emoji: str, removed: bool = False) -> None:
        reaction = {"user_id": user_id, "post_id": post_id, "emoji_name": emoji, "create_at": 0}
        event = "reaction_removed" if removed else "reaction_added"
        channel_id = self.posts[post_id].channel_id
        await self.broadcast(event, {"reaction": json.dumps(reaction)}, channel_id=channel_id)

    async def broadcast(self, event: str, data: dict[str, Any], channel_id: str = "") -> None:
        """Send to the live connection, or keep it for replay while the client is away."""
        if self.live is None:
            return
        conn = self.live
        msg = {"event": event, "data": data, "broadcast": {"channel_id": channel_id}, "seq": conn.seq}
        conn.seq += 1
        conn.sent.append(msg)
        if conn.socket is not None and not conn.socket.closed:
            await conn.socket.send_str(json.dumps(msg))

    def action_payload(self, post_id: str, action_id: str, user_id: str) -> tuple[str, dict[str, Any]]:
        """What Mattermost POSTs to an interactive button's URL when ``user_id`` presses it."""
        post = self.posts[post_id]
        for attachment in post.props.get("attachments", []):
            for action in attachment.get("actions", []):
                if action.get("id") == action_id:
                    integration = action["integration"]
                    payload = {
                        "user_id": user_id,
                        "user_name": user_id,
                        "channel_id": post.channel_id,
                        "team_id": "team",
                        "post_id": post_id,
                        "trigger_id": new_id(),
                        "type": "",
                        "data_source": "",
                        "context": integration.get("context", {}),
                    }
                    return integration["url"], payload
        raise KeyError(f"no action {action_id} on post {post_id}")

    # ----- server -----
    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v4/users/me", self._me)
        app.router.add_get("/api/v4/users/{user_id}", self._user)
        app.router.add_get("/api/v4/channels/{channel_id}", self._channel)
        app.router.add_post("/api/v4/posts", self._create_post)
        app.router.add_put("/api/v4/posts/{post_id}/patch", self._patch_post)
        app.router.add_post("/api/v4/reactions", self._add_reaction)
        app.router.add_delete("/api/v4/users/{uid}/posts/{pid}/reactions/{emoji}", self._remove_reaction)
        app.router.add_get("/api/v4/websocket", self._websocket)

    async def on_close(self) -> None:
        for conn in self.connections.values():
            if conn.socket is not None:
                await conn.socket.close()

    async def _gate(self, request: web.Request, route: str, body: dict[str, Any]) -> web.Response | None:
        self.calls.append((route, body))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "api.context.session_expired.app_error")
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.failures[route]:
            failure = self.failures[route].popleft()
            headers = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
            return _error(failure.status, "scripted failure", headers)
        return None

    async def _me(self, request: web.Request) -> web.Response:
        if denied := await self._gate(request, "GET /users/me", {}):
            return denied
        return web.json_response({"id": self.bot_user_id, "username": self.bot_username, "is_bot": True})

    async def _user(self, request: web.Request) -> web.Response:
        if denied := await self._gate(request, "GET /users", {}):
            return denied
        uid = request.match_info["user_id"]
        user = self.users.get(uid)
        if user is None:
            return _error(404, "app.user.missing_account.const")
        profile = {"id": uid, "email": "", "email_verified": False, "delete_at": 0, "is_bot": False, **user}
        return web.json_response({**profile, "email": profile["email"] if self.show_email else ""})

    async def _channel(self, request: web.Request) -> web.Response:
        if denied := await self._gate(request, "GET /channels", {}):
            return denied
        channel_id = request.match_info["channel_id"]
        kind = self.channel_types.get(channel_id)
        if kind is None:
            return _error(404, "app.channel.get.existing.app_error")
        return web.json_response({"id": channel_id, "type": kind, "team_id": "" if kind in "DG" else "team"})

    async def _create_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        if denied := await self._gate(request, "POST /posts", body):
            return denied
        if len(body.get("message", "")) > 16383:
            return _error(400, "api.post.create_post.message_length.app_error")
        pending = body.get("pending_post_id")
        if pending and pending in self._pending:  # Mattermost drops a retried create with the same id
            return web.json_response(self.posts[self._pending[pending]].json(), status=201)
        post = Post(
            id=new_id(),
            channel_id=body["channel_id"],
            user_id=self.bot_user_id,
            message=body.get("message", ""),
            root_id=body.get("root_id", ""),
            props=body.get("props") or {},
        )
        self.posts[post.id] = post
        if pending:
            self._pending[pending] = post.id
        # Mattermost echoes the bot's own posts too
        await self.broadcast_posted(post, channel_type=self.channel_types.get(post.channel_id, "O"))
        return web.json_response(post.json(), status=201)

    async def _patch_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        if denied := await self._gate(request, "PUT /posts/patch", body):
            return denied
        post = self.posts.get(request.match_info["post_id"])
        if post is None:
            return _error(404, "app.post.get.app_error")
        if "message" in body:
            post.message = body["message"]
        if "props" in body:
            post.props = body["props"]
        post.edits += 1
        post.stamps.append(time.monotonic())
        return web.json_response(post.json())

    async def _add_reaction(self, request: web.Request) -> web.Response:
        body = await request.json()
        if denied := await self._gate(request, "POST /reactions", body):
            return denied
        self.reactions.append(body)
        return web.json_response(body, status=201)

    async def _remove_reaction(self, request: web.Request) -> web.Response:
        info = request.match_info
        body = {"user_id": info["uid"], "post_id": info["pid"], "emoji_name": info["emoji"]}
        if denied := await self._gate(request, "DELETE /reactions", body):
            return denied
        self.reactions = [r for r in self.reactions if r != body]
        return web.json_response({"status": "OK"})

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        if first.type != WSMsgType.TEXT:
            return ws
        challenge = json.loads(first.data)
        if challenge.get("action") != "authentication_challenge" or challenge["data"]["token"] != self.token:
            await ws.send_str(json.dumps({"status": "FAIL", "seq_reply": challenge.get("seq")}))
            await ws.close(code=4001)
            return ws
        await ws.send_str(json.dumps({"status": "OK", "seq_reply": challenge.get("seq")}))
        self.connects += 1
        old = self.connections.get(request.query.get("connection_id", ""))
        start = int(request.query.get("sequence_number", "-1"))
        if old is not None and 0 <= start <= old.seq:
            self.resumes += 1
            conn, conn.socket, conn.transport = old, ws, request.transport
            replay_from = max(start - 1, 0) if self.replay_overlap else start
            for msg in conn.sent[replay_from:]:
                await ws.send_str(json.dumps(msg))
        else:
            conn = _Connection(id=new_id(), socket=ws, transport=request.transport)
            self.connections[conn.id] = conn
            self.live = conn
            await self.broadcast("hello", {"server_version": "9.11.0", "connection_id": conn.id})
        self.live = conn
        self._authed.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                req = json.loads(msg.data)
                await ws.send_str(json.dumps({"status": "OK", "seq_reply": req.get("seq")}))
        if conn.socket is ws:
            conn.socket = None
        return ws


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"id": message, "message": message, "status_code": status}
    return web.json_response(body, status=status, headers=headers or {})
