"""A fake OpenAI-compatible ``POST /v1/embeddings`` server on 127.0.0.1 (aiohttp).

Vectors are deterministic functions of the input text (hash-seeded), so equal texts get equal vectors.
``fake.fail_next`` makes the next requests answer with that HTTP status.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

import numpy as np
from aiohttp import web


def fake_vector(text: str, dim: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim)
    return [float(x) for x in vec / np.linalg.norm(vec)]


class FakeEmbeddingsServer:
    def __init__(self, *, dim: int = 8, api_key: str | None = None) -> None:
        self.dim, self.api_key = dim, api_key
        self.requests: list[dict[str, Any]] = []
        self.fail_next: deque[int] = deque()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def embeddings(self, request: web.Request) -> web.Response:
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        body = await request.json()
        self.requests.append(body)
        if self.fail_next:
            return web.json_response(
                {"error": {"message": "scripted failure"}}, status=self.fail_next.popleft()
            )
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(t, self.dim)}
            for i, t in enumerate(inputs)
        ]
        data.reverse()  # real servers may answer out of order; clients must sort by index
        return web.json_response({"object": "list", "data": data, "model": body.get("model", "")})

    async def __aenter__(self) -> FakeEmbeddingsServer:
        app = web.Application()
        app.router.add_post("/v1/embeddings", self.embeddings)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
