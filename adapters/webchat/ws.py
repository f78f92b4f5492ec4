"""The WebSocket endpoint: one reader loop per socket, one writer task, answers run as server tasks."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketState

from adapters.webchat.protocol import AskIn, FeedbackIn, PingIn, client_message, error
from adapters.webchat.texts import wt

if TYPE_CHECKING:
    from adapters.webchat.chat import WebChat

log = structlog.get_logger(__name__)
MAX_FRAME_BYTES = 64 * 1024
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
DELTA = "answer.delta"


class Connection:
    """The sending half of a socket. ``send`` never blocks and never fails: after a disconnect it drops.

    Answer text goes out at most every ``stream_interval`` seconds per socket: the first piece at once,
    then whatever arrived meanwhile as one ``answer.delta`` frame. A frame costs the server far more than
    its text (framing, compression, a write), and a reader sees no difference at 20 updates a second.
    """

    def __init__(self, ws: WebSocket, *, stream_interval: float = 0.05) -> None:
        self.ws = ws
        self.closed = False
        self.stream_interval = stream_interval
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write())

    def send(self, message: dict[str, Any]) -> None:
        if not self.closed:
            self._queue.put_nowait(message)

    async def _write(self) -> None:
        done = False
        while not done:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            if None in batch:
                done, batch = True, batch[: batch.index(None)]
            streamed = False
            for message in coalesce_deltas(batch):
                try:
                    await self.ws.send_text(json.dumps(message, ensure_ascii=False))
                except Exception:  # the peer is gone; answers keep running and are stored
                    self.closed = True
                    return
                streamed = streamed or message.get("type") == DELTA
            if streamed and not done and self.stream_interval > 0:
                await asyncio.sleep(self.stream_interval)  # let the next pieces gather

    async def close(self) -> None:
        self.closed = True
        self._queue.put_nowait(None)
        await asyncio.gather(self._writer, return_exceptions=True)


def coalesce_deltas(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join the ``answer.delta`` messages of one request that follow each other in that request's
    order (other requests' messages in between do not matter); every other message keeps its place."""
    out: list[dict[str, Any]] = []
    open_delta: dict[Any, int] = {}  # request id → index in out of its delta still open for text
    for message in messages:
        rid = message.get("request_id")
        if message.get("type") == DELTA:
            at = open_delta.get(rid)
            if at is not None:
                out[at] = {**out[at], "text": out[at]["text"] + message["text"]}
                continue
            open_delta[rid] = len(out)
        else:
            open_delta.pop(rid, None)
        out.append(message)
    return out


def same_origin(ws: WebSocket, *, trust_forwarded: bool) -> bool:
    """Browsers send ``Origin``: refuse sockets opened by other sites with our cookie (CSWSH).

    ``X-Forwarded-Host`` names the public host only when a trusted proxy set it; from anyone else it is
    ignored (else any page could claim its own origin is ours).
    """
    origin = ws.headers.get("origin")
    if not origin:
        return True  # not a browser
    forwarded = ws.headers.get("x-forwarded-host") if trust_forwarded else None
    host = forwarded or ws.headers.get("host") or ""
    return urlsplit(origin).netloc.lower() == host.split(",")[0].strip().lower()


async def serve(ws: WebSocket, chat: WebChat) -> None:
    if not same_origin(ws, trust_forwarded=chat.auth.trusted_peer(ws)):
        await ws.close(code=CLOSE_FORBIDDEN_ORIGIN)
        return
    user = await chat.auth.identify(ws)
    if user is None:
        await ws.close(code=CLOSE_UNAUTHORIZED, reason="sign in first")
        return
    await ws.accept()
    conn = Connection(ws, stream_interval=chat.settings.stream_interval_ms / 1000)
    log.info("webchat.socket_open", user_id=user.id)
    peer_gone = False
    try:
        while True:
            frame = await ws.receive()
            if frame["type"] == "websocket.disconnect":
                peer_gone = True
                break
            raw = frame.get("text") or (frame.get("bytes") or b"").decode("utf-8", "replace")
            await _dispatch(chat, user, conn, raw)
    finally:
        await conn.close()
        if not peer_gone and ws.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):  # the peer may vanish while we close
                await ws.close()
        log.info("webchat.socket_closed", user_id=user.id)


async def _dispatch(chat: WebChat, user: Any, conn: Connection, raw: str) -> None:
    size = len(raw.encode("utf-8"))
    if size > MAX_FRAME_BYTES:
        conn.send(error(None, "too_large", wt("frame_too_large", None, size=size, limit=MAX_FRAME_BYTES)))
        return
    data: Any = None
    try:
        data = json.loads(raw)
        message = client_message.validate_python(data)
    except (ValueError, ValidationError) as exc:
        fields = data if isinstance(data, dict) else {}
        request_id = fields.get("request_id") if isinstance(fields.get("request_id"), str) else None
        detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "invalid JSON"
        conn.send(error(request_id, "bad_request", wt("bad_message", fields.get("lang"), detail=detail)))
        return
    if isinstance(message, PingIn):
        conn.send({"type": "pong", "ts": message.ts})
    elif isinstance(message, AskIn):
        await chat.ask(user, message, conn.send)
    elif isinstance(message, FeedbackIn):
        await chat.feedback(user, message, conn.send)
