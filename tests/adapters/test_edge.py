"""The HTTP edge: streamed body limits, forwarded headers only from trusted proxies, the WebSocket Origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from adapters.edge import Edge, peer_of
from tests.adapters.test_webchat import WEB, make_app, sign_in


def edge_app(limit: int = 1000) -> FastAPI:
    app = FastAPI()

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, object]:
        return {"size": len(await request.body())}

    @app.get("/who")
    async def who(request: Request) -> dict[str, object]:
        return {"client": request.client.host if request.client else None, "peer": peer_of(request),
                "scheme": request.url.scheme}  # fmt: skip

    app.add_middleware(Edge, forwarded_allow_ips=["10.0.0.0/8"], max_body_bytes=limit)
    return app


def client(app: FastAPI, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(peer, 1234)), base_url="http://t")


async def chunks(total: int, size: int = 100) -> AsyncIterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


async def test_streamed_body_without_content_length_is_cut_at_the_limit() -> None:
    async with client(edge_app(1000)) as c:
        ok = await c.post("/echo", content=chunks(1000))
        assert ok.status_code == 200 and ok.json() == {"size": 1000}
        r = await c.post("/echo", content=chunks(5000), headers={"accept-language": "ru"})
        assert "content-length" not in r.request.headers  # chunked: nothing declared
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large" and "1000" in r.text
        declared = await c.post("/echo", content=b"y" * 1001)
        assert declared.status_code == 413


async def test_a_small_declared_length_does_not_let_a_big_body_through() -> None:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"z" * 600, "more_body": len(sent) < 5}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/echo", "raw_path": b"/echo", "query_string": b"",
             "headers": [(b"content-length", b"10")], "client": ("1.2.3.4", 1), "server": ("t", 80),
             "scheme": "http", "http_version": "1.1", "root_path": ""}  # fmt: skip
    await edge_app(1000)(scope, receive, send)
    assert sent[0]["status"] == 413


@pytest.mark.parametrize(
    ("peer", "client_seen", "scheme"),
    [("10.1.2.3", "203.0.113.7", "https"), ("192.0.2.1", "192.0.2.1", "http")],
)
async def test_forwarded_for_and_proto_only_from_trusted_proxies(
    peer: str, client_seen: str, scheme: str
) -> None:
    async with client(edge_app(), peer) as c:
        headers = {"x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https"}
        body = (await c.get("/who", headers=headers)).json()
    assert body == {"client": client_seen, "peer": peer, "scheme": scheme}


def test_forwarded_host_is_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    app = make_app(tmp_path, trusted_proxies=["10.8.0.0/16"])
    evil = {"origin": "http://evil.example", "x-forwarded-host": "evil.example"}
    with TestClient(app, client=("192.168.1.9", 40000)) as direct:
        alice = sign_in(direct, "Alice")
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            direct.websocket_connect(f"{WEB}/ws", headers={**alice, **evil}) as ws,
        ):
            ws.receive_json()
        assert closed.value.code == 4403
    public = {"origin": "https://chat.example", "x-forwarded-host": "chat.example"}
    with (
        TestClient(app, client=("10.8.0.5", 40000)) as proxied,
        proxied.websocket_connect(f"{WEB}/ws", headers={**alice, **public}) as ws,
    ):
        ws.send_json({"type": "ping", "ts": 1})
        assert ws.receive_json()["type"] == "pong"
