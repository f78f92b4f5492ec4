"""Shared plumbing of the fake LLM servers: scripted replies and an aiohttp server on 127.0.0.1.

Each chat request takes the next ``Reply`` from ``fake.replies`` (or ``fake.default`` when the queue is
empty), so a test scripts e.g. "503, then 429 with Retry-After 0.1, then a normal stream". A request whose
messages contain a lane's marker (``fake.lane("You triage …")``) takes its reply from that lane instead and
is recorded there, so the requests of a background task (an incident judge, a summary) are scripted apart
from the answers'.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import AiohttpFake


@dataclass
class Reply:
    status: int = 200
    retry_after: float | None = None
    latency: float = 0.0  # before the response headers
    ttft: float = 0.0  # after the headers, before the first token
    tokens: list[str] = field(default_factory=lambda: ["Hello", ", ", "world", "."])
    token_interval: float = 0.0
    hang: bool = False  # accept the request and never answer
    drop_after: int | None = None  # close the connection after this many tokens
    error_after: int | None = (
        None  # after this many tokens, an error event in the stream (HTTP 200 already sent)
    )
    usage: bool = True
    release: asyncio.Event | None = None  # answer only once the test sets this event


@dataclass
class Lane:
    """Requests whose messages contain ``marker``: their own scripted replies and their own record."""

    marker: str
    replies: deque[Reply] = field(default_factory=deque)
    default: Reply = field(default_factory=Reply)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def matches(self, body: dict[str, Any]) -> bool:
        return any(self.marker in str(m.get("content", "")) for m in body.get("messages") or [])


class FakeLLMServer(AiohttpFake):
    """Base of the fakes; subclasses add routes and the wire format of chunks."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self.requests: list[dict[str, Any]] = []
        self.lanes: list[Lane] = []
        self.url = ""
        self._stop: asyncio.Event | None = None

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def next_reply(self) -> Reply:
        return self.replies.popleft() if self.replies else self.default

    def lane(self, marker: str, *replies: Reply, default: Reply | None = None) -> Lane:
        """Route requests containing ``marker`` to a lane of their own (see the module docstring)."""
        lane = Lane(marker, deque(replies), default or Reply())
        self.lanes.append(lane)
        return lane

    def record(self, body: dict[str, Any]) -> Lane | None:
        """Record the request in the first lane it matches (returned), else in ``requests``."""
        lane = next((lane for lane in self.lanes if lane.matches(body)), None)
        (self.requests if lane is None else lane.requests).append(body)
        return lane

    def reply_for(self, lane: Lane | None) -> Reply:
        if lane is None:
            return self.next_reply()
        return lane.replies.popleft() if lane.replies else lane.default

    def routes(self, app: web.Application) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def on_start(self) -> None:
        self._stop = asyncio.Event()

    async def on_close(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def hang(self) -> None:
        assert self._stop is not None
        await self._stop.wait()

    async def error(self, reply: Reply) -> web.Response:
        headers = {"Retry-After": f"{reply.retry_after:g}"} if reply.retry_after is not None else {}
        body = {"error": {"message": f"scripted {reply.status}", "type": "scripted", "code": reply.status}}
        return web.json_response(body, status=reply.status, headers=headers)

    async def sse(
        self, request: web.Request, reply: Reply, chunks: list[dict[str, Any]], tail: list[dict[str, Any]]
    ) -> web.StreamResponse:
        """Stream ``chunks`` (one per token) then ``tail``, as ``data:`` lines ending with ``[DONE]``."""
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await resp.prepare(request)
        if reply.ttft:
            await asyncio.sleep(reply.ttft)
        for i, chunk in enumerate(chunks):
            if reply.drop_after is not None and i >= reply.drop_after:
                assert request.transport is not None
                request.transport.abort()
                return resp
            if reply.error_after is not None and i >= reply.error_after:  # as vLLM/OpenAI do when overloaded
                error = {
                    "error": {"message": "scripted overload mid-stream", "type": "server_error", "code": 503}
                }
                await resp.write(f"data: {json.dumps(error)}\n\n".encode())
                await resp.write_eof()
                return resp
            if i and reply.token_interval:
                await asyncio.sleep(reply.token_interval)
            await resp.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        for chunk in tail:
            await resp.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    async def before_body(self, reply: Reply) -> web.Response | None:
        """Latency, hang or a scripted error status; ``None`` to go on and answer."""
        if reply.latency:
            await asyncio.sleep(reply.latency)
        if reply.release is not None:
            await reply.release.wait()
        if reply.hang:
            await self.hang()
            raise web.HTTPServiceUnavailable()
        if reply.status != 200:
            return await self.error(reply)
        return None
