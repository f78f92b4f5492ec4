"""The outermost HTTP layer: who the TCP peer is, which forwarded headers to believe, how big a body may be.

- The peer's address is kept in ``scope["opora.peer"]`` before anything rewrites ``scope["client"]``, so
  "is this request from a trusted proxy?" is answered about the TCP peer, never about a forwarded address.
- ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are applied by uvicorn's own ``ProxyHeadersMiddleware``, only
  for peers in ``server.forwarded_allow_ips`` (default: ``webchat.trusted_proxies``). ``opora serve`` turns
  uvicorn's outer copy off (``proxy_headers=False``) so the peer is still known here.
- Request bodies are counted as they stream in, whatever ``Content-Length`` says (or without one): past
  ``api.max_body_bytes`` the request gets 413 and the application never sees it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

PEER = "opora.peer"


def peer_of(conn: HTTPConnection) -> str | None:
    """The TCP peer's address (before forwarded headers were applied)."""
    peer = conn.scope.get(PEER)
    if peer is not None:
        return str(peer)
    return conn.client.host if conn.client else None


class TrustedProxies:
    """Addresses and networks of the reverse proxies whose forwarded headers are believed."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]

    def __contains__(self, host: object) -> bool:
        if not isinstance(host, str):
            return False
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(addr in net for net in self.networks)


def _lang(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return "ru" if value.decode("latin1").lower().startswith("ru") else "en"
    return "en"


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    ru = _lang(scope) == "ru"
    message = f"Тело запроса больше {limit} байт." if ru else f"The body exceeds {limit} bytes."
    body = json.dumps({"error": {"code": "too_large", "message": message}}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Edge:
    """ASGI middleware: records the peer, applies trusted forwarded headers, limits streamed bodies."""

    def __init__(self, app: ASGIApp, *, forwarded_allow_ips: list[str], max_body_bytes: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.proxied = ProxyHeadersMiddleware(self._limited(app), trusted_hosts=forwarded_allow_ips or [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and PEER not in scope:
            client = scope.get("client")
            scope[PEER] = client[0] if client else None
        await self.proxied(scope, receive, send)

    def _limited(self, app: ASGIApp) -> ASGIApp:
        limit = self.max_body_bytes

        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or limit <= 0:
                await app(scope, receive, send)
                return
            declared = dict(scope.get("headers", ())).get(b"content-length", b"")
            if declared.isdigit() and int(declared) > limit:
                await _too_large(scope, send, limit)
                return
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client left before sending it all
                    return
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await _too_large(scope, send, limit)
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                return await receive()

            await app(scope, replay, send)

        return limited


def install_edge(app: Any, *, forwarded_allow_ips: list[str], max_body_bytes: int) -> None:
    app.add_middleware(Edge, forwarded_allow_ips=forwarded_allow_ips, max_body_bytes=max_body_bytes)
