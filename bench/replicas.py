"""Two Opora replicas (``opora serve`` processes) on one PostgreSQL behave as one: prints the transcript.

Run: .venv/bin/python -m bench.replicas     (needs PostgreSQL at OPORA_TEST_PG_URL, default 127.0.0.1:5432)

What it shows, against the fakes of tests/fakes (real wire protocols on 127.0.0.1):
- one leader (PostgreSQL advisory lock): Telegram long polling, the Mattermost websocket and the start-up
  ingest run in it only; killing it hands them to the other replica;
- Slack Socket Mode on every replica, an event delivered to both answered once (DB dedupe); Telegram
  webhooks and Slack HTTP events on both replicas, the same delivery sent to both answered once;
- a web chat answer in flight survives the client reconnecting to the other replica;
- the per-user question limit holds across replicas (DB token bucket).

Vector store: a Qdrant server cannot run here and qdrant-client's local mode locks its folder to one
process, so the index is built once (``opora ingest``) into a local-mode folder and each replica opens its
own copy of it (read-only use: the leader's start-up ingest finds every document unchanged). With a Qdrant
server the replicas share one collection; nothing else changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.fakes.mattermost_server import FakeMattermostServer
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.fakes.slack_server import BOT_USER, FakeSlackServer, event, signed
from tests.fakes.telegram_server import FakeTelegramServer

PG_ADMIN = os.environ.get("OPORA_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
OPORA = str(Path(sys.executable).with_name("opora"))
SIGNING_SECRET = "replica-signing-secret"
TG_SECRET = "replica-webhook-secret"
QPM = 3  # web chat questions per user per minute (small, to show the shared limit)
ANSWER_TOKENS = [*(f"word{i} " for i in range(24)), "— see [1]."]
KB = {
    "helm-rollback.md": "# Rolling back a Helm release\n\nTo roll back a Helm release to a previous "
    "revision, run `helm rollback <release> <revision>`. List revisions with `helm history <release>`.\n",
    "werf-cleanup.md": "# werf cleanup\n\n`werf cleanup` removes old images from the container registry "
    "according to the cleanup policies.\n",
    "kube-run.md": "# werf kube-run\n\n`werf kube-run` runs a command in a temporary pod; copy files back "
    "with `--copy-from`.\n",
}
QUESTION = "How do I roll back a helm release to a previous revision?"
Out = Callable[[str], None]


async def until(predicate: Callable[[], Any], what: str, within: float = 60.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


async def create_database() -> str:
    import asyncpg

    name = f"opora_replicas_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN.replace("+asyncpg", ""))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"


async def drop_database(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN.replace("+asyncpg", ""))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


class Replica:
    """One ``opora serve`` process with its own data folder and port, logging JSON events to a file."""

    def __init__(self, name: str, root: Path, env: dict[str, str]) -> None:
        self.name = name
        self.dir = root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "opora.log"
        self.env = {
            **env,
            "OPORA_DATA_DIR": str(self.dir),
            "OPORA_VECTOR_STORE__PATH": str(self.dir / "index"),
        }
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int) -> None:
        self.port = port
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [OPORA, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
        )
        log.close()

    async def readyz(self) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                r = await client.get(f"{self.url}/readyz")
            return r.json() if r.status_code == 200 else None
        except httpx.HTTPError:
            return None

    async def wait_ready(self) -> dict[str, Any]:
        async def ready() -> dict[str, Any] | None:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            return await self.readyz()

        try:
            return await until(ready, f"{self.name} ready", within=600)
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; its log ends: {self.log_path.read_text()[-2000:]}") from exc

    async def is_leader(self) -> bool:
        state = await self.readyz()
        return bool(state and state["replica"]["leader"])

    def events(self, name: str) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("event") == name:
                    out.append(record)
        return out

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                self.kill()


async def job_runs(db_url: str, replicas: list[Replica]) -> dict[str, int]:
    """Scheduled job runs recorded in ``job_runs``, counted by the replica that ran them."""
    import asyncpg

    conn = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT instance FROM job_runs")
    finally:
        await conn.close()
    pids = {str(r.proc.pid): r.name for r in replicas if r.proc is not None}
    counts = {r.name: 0 for r in replicas}
    for row in rows:
        name = pids.get(row["instance"].split(":")[1], "other")
        counts[name] = counts.get(name, 0) + 1
    return counts


def duplicates(a: Replica, b: Replica, platform: str) -> list[str]:
    """Which replicas dropped a delivery of ``platform`` as already answered (``channel.duplicate_event``)."""
    return [
        r.name for r in (a, b) for e in r.events("channel.duplicate_event") if e.get("platform") == platform
    ]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(db_url: str, kb: Path, fakes: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPORA_")}
    env.update(
        {
            "OPORA_DATABASE_URL": db_url,
            "OPORA_LOG_JSON": "true",
            "OPORA_VECTOR_STORE__KIND": "qdrant",
            "OPORA_KB__PATHS": json.dumps([str(kb)]),
            "OPORA_SCHEDULER__LEASE_RETRY_SECONDS": "1.0",
            "OPORA_SCHEDULER__FOLDER_RESCAN_MINUTES": "0.1",  # a scheduled job every 6 s, to see who runs it
            "OPORA_SCHEDULER__LEASE_HEARTBEAT_SECONDS": "1.0",
            "OPORA_WEBCHAT__QUESTIONS_PER_MINUTE": str(QPM),
            "OPORA_PROVIDERS__CHAIN": '["fake"]',
            "OPORA_PROVIDERS__PROVIDERS__FAKE__KIND": "openai",
            "OPORA_PROVIDERS__PROVIDERS__FAKE__BASE_URL": fakes["llm"],
            "OPORA_PROVIDERS__PROVIDERS__FAKE__MODEL": "fake",
            "OPORA_PROVIDERS__PROVIDERS__FAKE__NO_AUTH": "true",
            "OPORA_PROVIDERS__PROVIDERS__FAKE__FIRST_TOKEN_TIMEOUT": "10",
            "OPORA_PROVIDERS__PROVIDERS__FAKE__TOTAL_TIMEOUT": "60",
            "OPORA_PROVIDERS__BUDGET": "10",
            "OPORA_PROVIDERS__CACHE__ENABLED": "false",
            "OPORA_SLACK__BOT_TOKEN": "xoxb-replicas",
            "OPORA_SLACK__APP_TOKEN": "xapp-replicas",
            "OPORA_SLACK__SIGNING_SECRET": SIGNING_SECRET,
            "OPORA_SLACK__API_URL": fakes["slack"],
            "OPORA_TELEGRAM__BOT_TOKEN": "123456:TEST-token",
            "OPORA_TELEGRAM__API_URL": fakes["telegram"],
            "OPORA_TELEGRAM__POLLING_TIMEOUT": "2",
            "OPORA_MATTERMOST__URL": fakes["mattermost"],
            "OPORA_MATTERMOST__TOKEN": "mm-bot-token",
        }
    )
    return env


def tg_update(update_id: int, text: str, chat_id: int) -> dict[str, Any]:
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Anna", "language_code": "en"},
        "text": text,
    }
    return {"update_id": update_id, "message": message}


def slack_mention(ts: str, channel: str) -> dict[str, Any]:
    inner = {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@{BOT_USER}> {QUESTION}",
        "ts": ts,
        "channel": channel,
    }
    return event(inner)


async def sign_in(replica: Replica, name: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(f"{replica.url}/api/v1/web/session", json={"name": name})
        r.raise_for_status()
        return f"opora_session={r.cookies['opora_session']}"


async def web_ask(replica: Replica, cookie: str, text: str) -> dict[str, Any]:
    """Ask over the socket; return the first reply (answer.start or error) without waiting for the end."""
    uri = f"ws://127.0.0.1:{replica.port}/api/v1/web/ws"
    async with websockets.connect(uri, additional_headers={"Cookie": cookie}) as ws:
        await ws.send(json.dumps({"type": "ask", "request_id": uuid.uuid4().hex[:12], "text": text}))
        return json.loads(await asyncio.wait_for(ws.recv(), 30))


async def phase_one(root: Path, env: dict[str, str], fakes: dict[str, Any], out: Out) -> dict[str, Any]:
    results: dict[str, Any] = {}
    tg: FakeTelegramServer = fakes["tg"]
    mm: FakeMattermostServer = fakes["mm"]
    slack: FakeSlackServer = fakes["slack_fake"]
    a, b = Replica("replica-a", root, env), Replica("replica-b", root, env)
    for r in (a, b):
        shutil.copytree(root / "index-built", r.dir / "index")
    try:
        a.start(free_port())
        state = await a.wait_ready()
        out(
            f"replica-a  :{a.port}  ready, leader={state['replica']['leader']}, store={state['vector_store']}"
        )
        b.start(free_port())
        state = await b.wait_ready()
        out(f"replica-b  :{b.port}  ready, leader={state['replica']['leader']}")
        results["leaders"] = [await a.is_leader(), await b.is_leader()]

        # leader-only work: the start-up ingest, Telegram polling, the Mattermost websocket
        await until(lambda: a.events("ingest.done"), "the leader's start-up ingest", within=120)
        results["ingest_runs"] = [len(a.events("ingest.done")), len(b.events("ingest.done"))]
        runs = results["ingest_runs"]
        out(f"ingests (start-up, scheduled rescans; leader only): ingest.done events a={runs[0]} b={runs[1]}")
        await until(lambda: tg.polling, "the leader's getUpdates")
        await until(lambda: mm.connects >= 1, "the leader's Mattermost websocket")
        tg.push_update(tg_update(9001, QUESTION, chat_id=501))
        await until(lambda: tg.sent(501), "Telegram answer")
        await asyncio.sleep(0)  # nothing to wait for: the next lines read counters
        results["telegram_polling"] = {"answers": len(tg.sent(501)), "conflicts": tg.conflicts}
        out(
            f"telegram polling: update 9001 answered {len(tg.sent(501))}x, "
            f"getUpdates conflicts (409) = {tg.conflicts}"
        )
        post = await mm.user_post(user_id="u1" * 13, channel_id="c" * 26, message=f"@opora {QUESTION}")
        await until(lambda: mm.bot_posts(post.id), "Mattermost answer")
        results["mattermost"] = {"connects": mm.connects, "answers": len(mm.bot_posts(post.id))}
        out(
            f"mattermost: websocket consumers connected = {mm.connects} (the leader), "
            f"post answered by {len(mm.bot_posts(post.id))} bot post"
        )

        # Slack Socket Mode: every replica connects; an event pushed to both is answered once (DB dedupe)
        await until(lambda: slack.socket_connections >= 2, "both Socket Mode connections")
        await slack.send_socket("events_api", slack_mention("1700000000.000100", "C0001"))
        await until(lambda: slack.messages("C0001"), "Slack answer")
        await until(lambda: duplicates(a, b, "slack"), "the second delivery dropped as a duplicate")
        thread = [m for m in slack.messages("C0001") if m.thread_ts == "1700000000.000100"]
        results["slack_socket"] = {"connections": slack.socket_connections, "answers": len(thread)}
        out(f"slack socket mode: {slack.socket_connections} connections; one event delivered to both → "
            f"{len(thread)} answer message(s), duplicate dropped by {duplicates(a, b, 'slack')}")  # fmt: skip

        # web chat: ask at A, drop the socket mid-stream, reconnect at B and read the answer from there
        cookie = await sign_in(a, "anna")
        uri = f"ws://127.0.0.1:{a.port}/api/v1/web/ws"
        async with websockets.connect(uri, additional_headers={"Cookie": cookie}) as ws:
            await ws.send(json.dumps({"type": "ask", "request_id": "web-1", "text": QUESTION}))
            started = json.loads(await ws.recv())
            while (delta := json.loads(await ws.recv()))["type"] != "answer.delta":
                pass
        conversation = started["conversation_id"]
        out(
            f"web chat: asked at replica-a, got {started['type']} and a first delta, socket closed mid-answer"
        )
        async with httpx.AsyncClient(base_url=b.url, headers={"cookie": cookie}, timeout=10) as client:
            first = (await client.get(f"/api/v1/web/conversations/{conversation}/messages")).json()
            out(
                f"web chat at replica-b: in_progress={first['in_progress']}, "
                f"messages={[m['kind'] for m in first['messages']]}"
            )

            async def stored() -> dict[str, Any] | None:
                body = (await client.get(f"/api/v1/web/conversations/{conversation}/messages")).json()
                return body if not body["in_progress"] and len(body["messages"]) >= 2 else None

            final = await until(stored, "the answer stored", within=60)
        answer = final["messages"][-1]
        results["webchat"] = {
            "in_progress_at_b": first["in_progress"],
            "answer": answer["text"],
            "delta": delta,
        }
        out(f"web chat at replica-b: in_progress={final['in_progress']}, "
            f"answer ({len(answer['text'])} chars): "
            f"{answer['text'][:60]!r}…")  # fmt: skip

        # per-user limit across replicas: QPM questions per minute for one user, wherever they ask
        cookie = await sign_in(b, "boris")
        replies = []
        for replica in (a, b, a, b):
            reply = await web_ask(replica, cookie, f"werf cleanup policies? ({len(replies)})")
            replies.append((replica.name, reply["type"], reply.get("code")))
        results["rate_limit"] = replies
        out(
            f"rate limit {QPM}/min per user across replicas: "
            + ", ".join(f"{n}→{c or t}" for n, t, c in replies)
        )

        # scheduled jobs: every run recorded so far was made by the leader
        await until(lambda: sum(1 for e in a.events("ingest.done") if "source" not in e) >= 2, "a rescan")
        results["job_runs_before"] = await job_runs(env["OPORA_DATABASE_URL"], [a, b])
        out(f"scheduler job runs (job_runs table) before the kill: {results['job_runs_before']}")

        # failover: kill the leader; the other replica takes the lock and the leader-only work
        killed, polls = time.monotonic(), tg.polls
        a.kill()
        await until(b.is_leader, "replica-b leading", within=30)
        took = time.monotonic() - killed
        results["failover_s"] = took
        out(f"killed replica-a (SIGKILL): replica-b leads after {took:.1f} s")
        # the dead leader's long poll ends at the fake when its socket closes, then the new leader polls
        await until(lambda: tg.polls > polls and tg.polling == 1, "the new leader's getUpdates", within=60)
        tg.push_update(tg_update(9002, QUESTION, chat_id=502))
        await until(lambda: tg.sent(502), "Telegram answer from the new leader", within=60)
        await until(lambda: mm.connects >= 2, "the new leader's Mattermost websocket")
        post = await mm.user_post(user_id="u2" * 13, channel_id="d" * 26, message=f"@opora {QUESTION}")
        await until(lambda: mm.bot_posts(post.id), "Mattermost answer from the new leader", within=60)

        async def job_run_at_b() -> dict[str, int] | None:  # the run's row is written after its log line
            counts = await job_runs(env["OPORA_DATABASE_URL"], [a, b])
            return counts if counts["replica-b"] >= 1 else None

        results["job_runs_after"] = await until(job_run_at_b, "a scheduled job in the new leader", within=60)
        out(f"scheduler job runs after the failover: {results['job_runs_after']}")
        results["after_failover"] = {
            "telegram": len(tg.sent(502)),
            "mm_connects": mm.connects,
            "conflicts": tg.conflicts,
        }
        out(f"after failover: telegram update 9002 answered {len(tg.sent(502))}x by replica-b, "
            f"mattermost websocket reconnected from replica-b (connects={mm.connects}), "
            f"409 conflicts={tg.conflicts}")  # fmt: skip
    finally:
        a.kill()
        b.stop()
    return results


async def phase_two(root: Path, env: dict[str, str], fakes: dict[str, Any], out: Out) -> dict[str, Any]:
    """Telegram webhook mode and Slack HTTP mode: every replica serves them behind the Service."""
    results: dict[str, Any] = {}
    tg: FakeTelegramServer = fakes["tg"]
    slack: FakeSlackServer = fakes["slack_fake"]
    env = {
        **env,
        "OPORA_TELEGRAM__MODE": "webhook",
        "OPORA_TELEGRAM__WEBHOOK_SECRET": TG_SECRET,
        "OPORA_SLACK__MODE": "http",
        "OPORA_MATTERMOST__URL": "",
        "OPORA_KB__INGEST_ON_START": "false",
    }
    a, b = Replica("replica-c", root, env), Replica("replica-d", root, env)
    for r in (a, b):
        shutil.copytree(root / "index-built", r.dir / "index")
    try:
        a.start(free_port())
        b.start(free_port())
        await a.wait_ready()
        await b.wait_ready()
        out(f"replica-c :{a.port} and replica-d :{b.port} ready (telegram webhook mode, slack HTTP mode)")
        update = tg_update(9101, QUESTION, chat_id=601)
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        async with httpx.AsyncClient(timeout=10) as client:
            codes = [
                (await client.post(f"{r.url}/telegram/webhook", json=update, headers=headers)).status_code
                for r in (a, b)
            ]
            await until(lambda: tg.sent(601), "Telegram webhook answer")
            body = json.dumps(slack_mention("1700000000.000200", "C0002"))
            slack_codes = [
                (
                    await client.post(
                        f"{r.url}/slack/events",
                        content=body,
                        headers={**signed(body, SIGNING_SECRET), "Content-Type": "application/json"},
                    )
                ).status_code
                for r in (a, b)
            ]
            await until(lambda: slack.messages("C0002"), "Slack HTTP answer")
        # each second delivery is dropped by the replica that got it, and logged
        await until(lambda: duplicates(a, b, "telegram"), "the Telegram redelivery dropped")
        await until(lambda: duplicates(a, b, "slack"), "the Slack redelivery dropped")
        thread = [m for m in slack.messages("C0002") if m.thread_ts == "1700000000.000200"]
        results["telegram_webhook"] = {"codes": codes, "answers": len(tg.sent(601))}
        results["slack_http"] = {"codes": slack_codes, "answers": len(thread)}
        out(
            f"telegram webhook: update 9101 posted to both replicas → HTTP {codes}, answered "
            f"{len(tg.sent(601))}x, duplicate dropped by {duplicates(a, b, 'telegram')}"
        )
        out(
            f"slack HTTP events: one event posted to both replicas → HTTP {slack_codes}, {len(thread)} "
            f"answer(s), duplicate dropped by {duplicates(a, b, 'slack')}"
        )
    finally:
        a.stop()
        b.stop()
    return results


def local_mode_shared(root: Path) -> str:
    """What a second process gets when it opens a local-mode folder this process holds."""
    from qdrant_client import QdrantClient

    holder = QdrantClient(path=str(root / "index-built"))
    try:
        code = f"from qdrant_client import QdrantClient; QdrantClient(path={str(root / 'index-built')!r})"
        probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    finally:
        holder.close()
    return "opened" if probe.returncode == 0 else probe.stderr.strip().splitlines()[-1][:100]


async def run(out: Out = print) -> dict[str, Any]:
    """Both phases; returns the figures (the test asserts them), printing the transcript to ``out``."""
    root = Path(tempfile.mkdtemp(prefix="opora-replicas-"))
    db_url = await create_database()
    tg, mm, slack, llm = FakeTelegramServer(), FakeMattermostServer(), FakeSlackServer(), FakeOpenAIServer()
    llm.default = Reply(tokens=ANSWER_TOKENS, token_interval=0.15)
    fakes: dict[str, Any] = {"tg": tg, "mm": mm, "slack_fake": slack}
    urls = {
        "telegram": tg.start_in_thread(),
        "mattermost": mm.start_in_thread(),
        "slack": slack.start_in_thread() + "/api/",
        "llm": llm.start_in_thread() + "/v1",
    }
    try:
        kb = root / "kb"
        kb.mkdir()
        for name, text in KB.items():
            (kb / name).write_text(text)
        env = base_env(db_url, kb, urls)
        out(
            f"PostgreSQL database {db_url.rsplit('/', 1)[1]} (fresh); fakes: telegram, mattermost, slack, LLM"
        )
        built = await asyncio.to_thread(
            subprocess.run,
            [OPORA, "ingest", str(kb)],
            env={
                **env,
                "OPORA_DATA_DIR": str(root / "build"),
                "OPORA_VECTOR_STORE__PATH": str(root / "index-built"),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode != 0:
            raise RuntimeError(built.stdout[-2000:] + built.stderr[-2000:])
        summary = [line for line in built.stdout.splitlines() if "added" in line] or ["?"]
        out(f"index built once: opora ingest → {summary[-1].strip()}")
        out("qdrant-client local mode, a second process on the same folder: " + local_mode_shared(root))
        out("→ each replica opens its own copy of the built index (a Qdrant server is shared instead)")
        results = await phase_one(root, env, fakes, out)
        results.update(await phase_two(root, env, fakes, out))
        return results
    finally:
        for fake in (tg, mm, slack, llm):
            fake.stop_thread()
        await drop_database(db_url)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    import logging

    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # fakes writing to a killed replica
    started = time.monotonic()
    print("bench.replicas: two opora serve processes on one PostgreSQL")
    asyncio.run(run())
    print(f"done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
