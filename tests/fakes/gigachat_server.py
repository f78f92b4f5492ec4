"""A fake GigaChat: OAuth (``/api/v2/oauth``) with expiring tokens, and streamed chat completions."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fakes.llm_server import FakeLLMServer, Reply

__all__ = ["FakeGigaChatServer", "Reply"]


class FakeGigaChatServer(FakeLLMServer):
    """``credentials`` is the expected authorization key; tokens live ``token_lifetime`` seconds."""

    def __init__(self, *, credentials: str, token_lifetime: float = 1800.0) -> None:
        super().__init__()
        self.credentials = credentials
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, float] = {}  # token → expiry (unix seconds)
        self.oauth_calls = 0
        self.scopes: list[str] = []
        self.rejected_tokens = 0

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/api/v2/oauth"

    def expire_all(self) -> None:
        """Make every issued token expired on the server side (as after a long idle)."""
        for token in self.tokens:
            self.tokens[token] = 0.0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/v2/oauth", self.oauth)
        app.router.add_post("/api/v1/chat/completions", self.chat)

    async def oauth(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.scopes.append(str(form.get("scope", "")))
        if request.headers.get("Authorization") != f"Basic {self.credentials}":
            return web.json_response({"code": 6, "message": "credentials doesn't match db data"}, status=401)
        self.oauth_calls += 1
        token = f"tok-{self.oauth_calls}"
        expires = time.time() + self.token_lifetime
        self.tokens[token] = expires
        return web.json_response({"access_token": token, "expires_at": int(expires * 1000)})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, 0.0) <= time.time():
            self.rejected_tokens += 1
            return web.json_response({"status": 401, "message": "Token has expired"}, status=401)
        body = await request.json()
        reply = self.reply_for(self.record(body))
        early = await self.before_body(reply)
        if early is not None:
            return early
        model = body.get("model", "GigaChat")
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": len(reply.tokens),
            "total_tokens": 10 + len(reply.tokens),
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(reply.tokens)}
            return web.json_response(
                {
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "created": int(time.time()),
                    "model": model,
                    "usage": usage,
                    "object": "chat.completion",
                }
            )

        def chunk(content: str, finish: str | None = None, with_usage: bool = False) -> dict[str, Any]:
            data: dict[str, Any] = {
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": content}}],
                "created": int(time.time()),
                "model": model,
                "object": "chat.completion",
            }
            if finish:
                data["choices"][0]["finish_reason"] = finish
            if with_usage:
                data["usage"] = usage
            return data

        chunks = [chunk(t) for t in reply.tokens]
        tail = [chunk("", "stop", with_usage=reply.usage)]
        return await self.sse(request, reply, chunks, tail)
