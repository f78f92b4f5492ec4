"""Proxy mode behind a real reverse proxy: Debian's nginx in front of ``opora serve`` (``make deploy-deps``).

nginx plays the authenticating proxy: it sets ``X-Forwarded-User`` from the login it checked (here the test's
``X-Test-Login`` header) and overwrites whatever the client sent, adds ``X-Forwarded-For/-Host/-Proto``, and
passes WebSockets through. Opora trusts 127.0.0.1 only; a "direct" client connects from 127.0.0.2.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

REPO = Path(__file__).resolve().parents[2]
# ``make deploy-deps`` unpacks Debian's nginx into the venv (no service); a system nginx works as well
_CANDIDATES = (REPO / ".venv" / "nginx" / "usr" / "sbin" / "nginx", Path("/usr/sbin/nginx"))
NGINX = next((str(p) for p in _CANDIDATES if p.exists()), None) or shutil.which("nginx")
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make deploy-deps)")
DIRECT = "127.0.0.2"  # another loopback address: a client that is not the proxy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, within: float = 240.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy; fastcgi_temp_path {tmp}/fcgi;
  uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_bind 127.0.0.1;
      proxy_request_buffering off;  # stream bodies on (chunked): Opora must count them itself
      client_max_body_size 10m;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-User $http_x_test_login;
      proxy_set_header X-Forwarded-Email "";
    }}
  }}
}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("proxy")
    upstream, port = free_port(), free_port()
    env = {
        **os.environ,
        "OPORA_DATA_DIR": str(tmp / "data"),
        "OPORA_KB__INGEST_ON_START": "false",
        "OPORA_KB__PATHS": "[]",
        "OPORA_WEBCHAT__AUTH": "proxy",
        "OPORA_WEBCHAT__TRUSTED_PROXIES": '["127.0.0.1"]',
        "OPORA_SERVER__FORWARDED_ALLOW_IPS": '["127.0.0.1"]',
        "OPORA_LOG_LEVEL": "WARNING",
    }
    opora = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(upstream)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "opora.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, upstream=upstream))
    nginx = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp), "-e", str(tmp / "error.log")])
    try:
        wait_http(f"http://127.0.0.1:{upstream}/healthz")
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield {"proxy": f"127.0.0.1:{port}", "direct": f"127.0.0.1:{upstream}"}
    finally:
        nginx.send_signal(signal.SIGQUIT)
        opora.send_signal(signal.SIGINT)
        for proc in (nginx, opora):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def direct_client() -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=DIRECT), timeout=10.0)


def test_identity_comes_only_from_the_proxy(stack: dict[str, str]) -> None:
    proxy = f"http://{stack['proxy']}/api/v1/web/me"
    me = httpx.get(proxy, headers={"X-Test-Login": "alice"}, timeout=10.0)
    assert me.status_code == 200 and me.json()["name"] == "alice"
    # a client's own X-Forwarded-User is overwritten by the proxy: no login, no identity
    assert httpx.get(proxy, headers={"X-Forwarded-User": "mallory"}, timeout=10.0).status_code == 401
    # straight to Opora, not through the proxy: the header is not believed
    with direct_client() as c:
        r = c.get(f"http://{stack['direct']}/api/v1/web/me", headers={"X-Forwarded-User": "mallory"})
        assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_websocket_through_the_proxy_and_forwarded_host_only_from_it(stack: dict[str, str]) -> None:
    async def run() -> None:
        url = f"ws://{stack['proxy']}/api/v1/web/ws"
        async with connect(
            url, origin=f"http://{stack['proxy']}", additional_headers={"X-Test-Login": "alice"}
        ) as ws:
            await ws.send(json.dumps({"type": "ping", "ts": 7}))
            assert json.loads(await ws.recv()) == {"type": "pong", "ts": 7}
        # another site's page through the proxy: Origin does not match the forwarded host
        with pytest.raises(Exception) as refused:
            async with connect(
                url, origin="http://evil.example", additional_headers={"X-Test-Login": "alice"}
            ) as ws:
                await ws.recv()
        assert _closed_with(refused.value, 4403)
        # directly, a forged X-Forwarded-Host naming the attacker's site is ignored
        direct = f"ws://{stack['direct']}/api/v1/web/ws"
        headers = {"X-Forwarded-Host": "evil.example", "X-Forwarded-User": "alice"}
        with pytest.raises(Exception) as forged:
            async with connect(direct, origin="http://evil.example", additional_headers=headers,
                               local_addr=(DIRECT, 0)) as ws:  # fmt: skip
                await ws.recv()
        assert _closed_with(forged.value, 4403)

    asyncio.run(run())


def _closed_with(exc: BaseException, code: int) -> bool:
    if isinstance(exc, InvalidStatus):  # refused before the upgrade
        return exc.response.status_code == 403
    rcvd = getattr(exc, "rcvd", None)
    return rcvd is not None and rcvd.code == code


def test_bodies_over_the_limit_are_refused_through_the_proxy(stack: dict[str, str]) -> None:
    def chunks():  # chunked: no Content-Length for anyone to trust
        for _ in range(8):
            yield b"x" * 65536

    r = httpx.post(f"http://{stack['proxy']}/api/v1/ask", content=chunks(), timeout=10.0,
                   headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_the_server_refuses_websocket_messages_over_ws_max_size(stack: dict[str, str]) -> None:
    from websockets.exceptions import ConnectionClosed

    async def run() -> int | None:
        url = f"ws://{stack['proxy']}/api/v1/web/ws"
        async with connect(url, origin=f"http://{stack['proxy']}", additional_headers={"X-Test-Login": "bob"},
                           max_size=None) as ws:  # fmt: skip
            await ws.send(json.dumps({"type": "ping", "ts": 1, "pad": "x" * 200_000}))  # > 128 KiB default
            try:
                await ws.recv()
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
        return None

    assert asyncio.run(run()) == 1009  # "message too big", from uvicorn (server.ws_max_size), through nginx
