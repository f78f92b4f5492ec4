"""A fake OpenAI-compatible server: ``POST /v1/chat/completions`` with SSE streaming and usage."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from tests.fakes.llm_server import FakeLLMServer, Reply

__all__ = ["FakeOpenAIServer", "Reply"]


class FakeOpenAIServer(FakeLLMServer):
    def __init__(self, *, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/chat/completions", self.chat)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        lane = self.record(body)
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return await self.error(Reply(status=401))
        reply = self.reply_for(lane)
        early = await self.before_body(reply)
        if early is not None:
            return early
        model = body.get("model", "fake")
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": len(reply.tokens),
            "total_tokens": 10 + len(reply.tokens),
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(reply.tokens)}
            return web.json_response(
                {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": usage,
                }
            )

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "cmpl-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        chunks = [chunk({"role": "assistant", "content": t}) for t in reply.tokens]
        tail = [chunk({}, "stop")]
        if reply.usage and (body.get("stream_options") or {}).get("include_usage"):
            tail.append(
                {
                    "id": "cmpl-1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
        return await self.sse(request, reply, chunks, tail)


def main() -> None:
    """Serve in its own process (benchmarks): prints the base URL, serves until stdin closes."""
    import argparse
    import asyncio
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--tokens", type=int, default=0, help="stream this many words (0: a short reply)")
    parser.add_argument("--token-interval", type=float, default=0.0)
    args = parser.parse_args()

    async def serve() -> None:
        fake = FakeOpenAIServer()
        fake.default = Reply(ttft=args.ttft, hang=args.hang, token_interval=args.token_interval)
        if args.tokens:
            words = "Use the documented command with the options shown in the passage [1] ".split()
            fake.default.tokens = [words[i % len(words)] + " " for i in range(args.tokens)]
        await fake.start()
        print(fake.base_url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await fake.close()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
