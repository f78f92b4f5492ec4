"""A thin async Mattermost v4 client: httpx for REST, ``websockets`` for the event stream.

Why not ``mattermostdriver`` 7.3.2: its REST side is blocking ``requests`` (every call would need a worker
thread), its ``init_websocket`` cannot run inside an already running event loop, it reconnects forever after
a normal close without closing its socket, and it knows nothing of resuming a stream by ``seq``. The few
calls Opora needs fit in this module.

The stream resumes the way Mattermost's own clients do: every event carries ``seq``; on reconnect the
client sends ``connection_id`` and the next expected ``sequence_number`` and the server replays what was
missed. Events already seen (``seq`` below the expected one) are dropped; a gap forces a resume.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import structlog
import websockets

from adapters.channels import PlatformError

log = structlog.get_logger(__name__)
EventHandler = Callable[[dict[str, Any]], Awaitable[None]]


class AuthenticationFailed(Exception):
    """The server refused the token (REST 401 or a failed websocket challenge); reconnecting is useless."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            delta = parsedate_to_datetime(value).timestamp() - asyncio.get_running_loop().time()
        except (TypeError, ValueError):
            return None
        return max(0.0, delta)


class MattermostClient:
    """The REST calls and the websocket of one bot account."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 10.0,
        reconnect_min: float = 0.5,
        reconnect_max: float = 30.0,
    ) -> None:
        self.base = url.rstrip("/")
        self._token = token
        self._http = httpx.AsyncClient(
            base_url=f"{self.base}/api/v4",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        )
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.connection_id: str | None = None
        self.next_seq = 0
        self.connected = asyncio.Event()
        self._ws: Any = None
        self._closing = False

    # ----- REST -----
    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        op = f"{method} {path.split('?')[0]}"
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.TransportError as exc:
            # The request may have reached the server before the connection broke.
            raise PlatformError(op, None, maybe_delivered=method != "GET", detail=type(exc).__name__) from exc
        if response.status_code == 401:
            raise AuthenticationFailed(f"{op}: 401")
        if response.status_code >= 400:
            raise PlatformError(
                op,
                response.status_code,
                retry_after=_retry_after(response),
                maybe_delivered=response.status_code >= 500,
                detail=response.text[:200],
            )
        return response.json() if response.content else None

    async def me(self) -> dict[str, Any]:
        return dict(await self._call("GET", "/users/me"))

    async def user(self, user_id: str) -> dict[str, Any]:
        """A user's profile (``username``, names), e.g. to say who reacted."""
        return dict(await self._call("GET", f"/users/{user_id}"))

    async def create_post(
        self,
        *,
        channel_id: str,
        message: str,
        root_id: str = "",
        props: dict[str, Any] | None = None,
        pending_post_id: str | None = None,
    ) -> dict[str, Any]:
        """Post; ``pending_post_id`` lets the server drop a retried duplicate of the same post."""
        body: dict[str, Any] = {"channel_id": channel_id, "message": message, "root_id": root_id}
        if props:
            body["props"] = props
        if pending_post_id:
            body["pending_post_id"] = pending_post_id
        return dict(await self._call("POST", "/posts", body))

    async def patch_post(
        self, post_id: str, *, message: str | None = None, props: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if message is not None:
            body["message"] = message
        if props is not None:
            body["props"] = props
        return dict(await self._call("PUT", f"/posts/{post_id}/patch", body))

    async def add_reaction(self, *, user_id: str, post_id: str, emoji: str) -> None:
        await self._call("POST", "/reactions", {"user_id": user_id, "post_id": post_id, "emoji_name": emoji})

    async def remove_reaction(self, *, user_id: str, post_id: str, emoji: str) -> None:
        await self._call("DELETE", f"/users/{user_id}/posts/{post_id}/reactions/{emoji}")

    # ----- WebSocket -----
    def _ws_url(self) -> str:
        url = self.base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/api/v4/websocket"
        if self.connection_id:
            url += f"?connection_id={self.connection_id}&sequence_number={self.next_seq}"
        return url

    async def listen(self, on_event: EventHandler) -> None:
        """Deliver every event to ``on_event`` until ``close``; reconnects with backoff and resumes by seq."""
        delay = self.reconnect_min
        while not self._closing:
            try:
                await self._session(on_event)
                delay = self.reconnect_min
            except AuthenticationFailed:
                log.error("mattermost.ws.auth_failed")
                raise
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                log.warning("mattermost.ws.disconnected", error=type(exc).__name__, next_seq=self.next_seq)
            self.connected.clear()
            if self._closing:
                break
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(self.reconnect_max, delay * 2)

    async def _session(self, on_event: EventHandler) -> None:
        async with websockets.connect(self._ws_url(), open_timeout=10, max_size=2**24) as ws:
            self._ws = ws
            await ws.send(
                json.dumps({"seq": 1, "action": "authentication_challenge", "data": {"token": self._token}})
            )
            async for raw in ws:
                msg = json.loads(raw)
                if "seq_reply" in msg:
                    if msg.get("status") == "FAIL":
                        raise AuthenticationFailed("websocket challenge refused")
                    if not self.connected.is_set():
                        self.connected.set()
                        log.info("mattermost.ws.connected", resumed=self.connection_id is not None)
                    continue
                seq = msg.get("seq")
                if msg.get("event") == "hello":
                    new_id = msg.get("data", {}).get("connection_id")
                    if self.connection_id and new_id != self.connection_id:
                        log.warning("mattermost.ws.resume_refused", missed_from_seq=self.next_seq)
                    self.connection_id, self.next_seq = new_id, 0
                if isinstance(seq, int):
                    if seq < self.next_seq:
                        log.info("mattermost.ws.replayed_event_dropped", seq=seq)
                        continue
                    if seq > self.next_seq:
                        log.warning("mattermost.ws.seq_gap", expected=self.next_seq, got=seq)
                        return  # reconnect with sequence_number=next_seq: the server replays the gap
                    self.next_seq = seq + 1
                await on_event(msg)

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        await self._http.aclose()
