"""Web chat load: N concurrent WebSocket users, each asking a question every few seconds.

Starts the server of ``tests/webchat/server.py`` (``bot.app`` over the sample KB when it is there) on
127.0.0.1, waits for the index, then prints p50/p95 time to the first ``answer.delta`` and to ``answer.end``,
the error count (must be 0) and the server's RSS before and after.

    .venv/bin/python -m bench.webchat [--users 200 --interval 5 --duration 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = (
    "How do I install a chart with helm install?",
    "How do I roll back a helm release to a previous revision?",
    "Как установить чарт с помощью helm install?",
    "How do I upgrade a release with new values?",
    "Как посмотреть историю релиза helm?",
    "What does helm repo add do?",
)


@dataclass
class Stats:
    first_delta: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    asked: int = 0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_ready(url: str, deadline_s: float = 300.0) -> None:
    end = time.monotonic() + deadline_s
    async with httpx.AsyncClient(base_url=url, timeout=3) as client:
        while time.monotonic() < end:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/api/v1/web/config")).status_code == 200:
                    ready = await client.get("/readyz")
                    if ready.status_code == 404 or (
                        ready.status_code == 200
                        and ready.json().get("index", {}).get("state") in ("done", "idle")
                    ):
                        return
            await asyncio.sleep(0.5)
    raise TimeoutError("server not ready")


async def user(n: int, url: str, args: argparse.Namespace, stats: Stats, start: float) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post("/api/v1/web/session", json={"name": f"bench-user-{n}"})
        r.raise_for_status()
        cookie = r.cookies["opora_session"]
    ws_url = url.replace("http", "ws", 1) + "/api/v1/web/ws"
    sent: dict[str, float] = {}
    got_delta: set[str] = set()
    done = asyncio.Event()
    questions = itertools.cycle(random.sample(QUESTIONS, len(QUESTIONS)))
    async with websockets.connect(
        ws_url,
        additional_headers={"Cookie": f"opora_session={cookie}"},
        max_queue=None,
        ping_interval=None,  # the server is measured, not the client library's keepalive open_timeout=30
    ) as ws:

        async def reader() -> None:
            async for raw in ws:
                event = json.loads(raw)
                rid, now = event.get("request_id"), time.perf_counter()
                if rid not in sent:
                    continue
                if event["type"] == "answer.delta" and rid not in got_delta:
                    got_delta.add(rid)
                    stats.first_delta.append(now - sent[rid])
                elif event["type"] == "answer.end":
                    stats.end.append(now - sent.pop(rid))
                elif event["type"] == "error":
                    stats.errors.append(f"{event['code']}: {event['message']}")
                    sent.pop(rid)
                if done.is_set() and not sent:
                    return

        read = asyncio.create_task(reader())
        offset = (n % 50) / 50 * args.interval  # spread the users over the interval
        k = 0
        while (due := start + offset + k * args.interval) < start + args.duration:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            rid = f"{n}-{k}"
            sent[rid] = time.perf_counter()
            stats.asked += 1
            await ws.send(
                json.dumps(
                    {
                        "type": "ask",
                        "request_id": rid,
                        "text": next(questions),
                        "conversation_id": f"bench-{n:05d}-thread",
                    }
                )
            )
            k += 1
        done.set()
        try:
            await asyncio.wait_for(read, timeout=120)
        except TimeoutError:
            stats.errors.append(f"user {n}: {len(sent)} answers missing")


def start_server(port: int, data: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPORA_TEST_QPM": "0"}  # the bench measures throughput, not the limiter
    return subprocess.Popen(
        [sys.executable, "-m", "tests.webchat.server", "--port", str(port), "--data", data],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        proc = start_server(port, data)
        try:
            await wait_ready(url)
            before = rss_mb(proc.pid)
            stats = Stats()
            start = time.perf_counter() + 2.0
            results = await asyncio.gather(
                *(user(n, url, args, stats, start) for n in range(args.users)), return_exceptions=True
            )
            stats.errors += [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
            after = rss_mb(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    print(f"web chat bench: {args.users} users, a question every {args.interval:g} s for {args.duration:g} s")
    print(f"questions asked       {stats.asked}")
    print(f"answers               {len(stats.end)}")
    fd = stats.first_delta
    print(f"first answer.delta    p50 {pct(fd, 50):8.1f} ms   p95 {pct(fd, 95):8.1f} ms")
    print(f"answer.end            p50 {pct(stats.end, 50):8.1f} ms   p95 {pct(stats.end, 95):8.1f} ms")
    print(f"errors                {len(stats.errors)}")
    for e in sorted(set(stats.errors))[:10]:
        print(f"  {e}")
    print(f"server RSS            before {before:.0f} MiB, after {after:.0f} MiB")
    if stats.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
