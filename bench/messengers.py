"""Messenger figures: 100 concurrent threads per platform against the fakes, through the real core.

Run: ``.venv/bin/python -m bench.messengers [--llm-like]``. Slack is measured here; Telegram and Mattermost
come from ``bench.messengers_tg_mm`` (same figures, same core) when it is importable.

Per platform: p95 time from the event delivery to the first visible message (the placeholder) and to the
final answer (the edit that adds the feedback buttons), platform API calls per answer (edits are
throttled to the platform's interval), and duplicates: every event is delivered twice (the delivery and
a retry with ``X-Slack-Retry-Num``); a thread with a second bot message is a duplicate. ``--llm-like``
streams each answer in ~120 small deltas over ~1.5 s, as a language model would, so the edit throttle
shows in the call count. The fake serves from its own thread and loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from adapters.slack import SlackChannel
from bot.config import SlackSettings
from bot.generation import AnswerGenerator, GenerationDone, GenerationRequest, TextDelta
from bot.services import Services
from tests.fakes.slack_server import BOT_USER, FakeSlackServer, event, signed

THREADS = 100
SECRET = "bench-signing-secret"
QUESTIONS = [
    "How do I roll back a helm release?",
    "werf kube-run: how to copy a file back from the container?",
    "Which environment variables turn on werf debug output?",
    "How do I install a chart with helm?",
]


def pct(values: list[float], q: float) -> float:  # nan when nothing was measured
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def summary(name: str, first: list[float], final: list[float], calls: int, answers: int, dupes: int) -> dict:
    return {
        "platform": name,
        "threads": THREADS,
        "answered": answers,
        "p95_first_visible_ms": _ms(pct(first, 0.95)),
        "p95_final_ms": _ms(pct(final, 0.95)),
        "p50_final_ms": _ms(pct(final, 0.5)),
        "api_calls_per_answer": round(calls / max(answers, 1), 2),
        "duplicates": dupes,
    }


def _ms(seconds: float) -> float | int:
    return seconds if seconds != seconds else round(seconds * 1000)  # nan stays nan


class LlmLikeGenerator:
    """Streams the passages' opening words in small deltas, paced like a language model."""

    name = "llm-like"

    async def generate(self, request: GenerationRequest) -> AsyncIterator[Any]:
        words = " ".join(p.text for p in request.passages[:2]).split()[:240]
        for start in range(0, len(words), 2):
            yield TextDelta(" ".join(words[start : start + 2]) + " ")
            await asyncio.sleep(0.0125)
        yield GenerationDone(provider="llm-like", cited=(1,))


async def bench_slack(services: Services) -> dict[str, Any]:
    fake = FakeSlackServer()
    fake.start_in_thread()
    settings = SlackSettings(bot_token="xoxb-bench", signing_secret=SECRET, mode="http", api_url=fake.api_url)
    channel = SlackChannel(services, settings)
    await channel.start()
    app = FastAPI()
    app.include_router(channel.router)  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora", timeout=60)
    sent_at: dict[str, float] = {}

    async def one(n: int) -> None:
        ts = f"{1700000000 + n}.000100"
        inner = {"type": "app_mention", "user": f"U{n:04d}", "ts": ts, "channel": "CBENCH",
                 "text": f"<@{BOT_USER}> {QUESTIONS[n % len(QUESTIONS)]}"}  # fmt: skip
        body = json.dumps(event(inner, event_id=f"EvB{n}"))
        sent_at[ts] = time.monotonic()
        for retry in (None, 1):  # the delivery and Slack's retry of it
            headers = {"Content-Type": "application/json", **signed(body, SECRET, retry_num=retry)}
            response = await http.post(settings.events_path, content=body, headers=headers)
            assert response.status_code == 200, response.status_code

    def finished() -> int:
        msgs = list(fake.posted["CBENCH"])
        return sum(1 for m in msgs if m.blocks and m.blocks[-1]["type"] == "actions")

    try:
        await asyncio.gather(*(one(n) for n in range(THREADS)))
        deadline = time.monotonic() + 120
        while finished() < THREADS and time.monotonic() < deadline:  # noqa: ASYNC110 (the fake is in another thread)
            await asyncio.sleep(0.05)
    finally:
        await http.aclose()
        await channel.stop()
        fake.stop_thread()
    first, final, dupes = [], [], 0
    for ts, t0 in sent_at.items():
        msgs = fake.messages("CBENCH", ts)
        done = [m for m in msgs if m.blocks and m.blocks[-1]["type"] == "actions"]
        dupes += max(0, len(msgs) - 1)
        if msgs:
            first.append(min(m.stamps[0] for m in msgs) - t0)
        if done:
            final.append(done[-1].stamps[-1] - t0)
    calls = sum(fake.calls[m] for m in ("chat.postMessage", "chat.update", "reactions.add"))
    return summary("slack", first, final, calls, len(final), dupes)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm-like", action="store_true", help="stream answers in small paced deltas")
    parser.add_argument("--only", choices=["slack", "telegram", "mattermost"], default=None)
    args = parser.parse_args()
    from bot.app import close_services
    from tests.conftest import build_core, copy_sample_kb

    benches: dict[str, Any] = {"slack": bench_slack}
    try:
        from bench.messengers_tg_mm import bench_mattermost, bench_telegram

        benches.update(telegram=bench_telegram, mattermost=bench_mattermost)
    except ImportError as exc:
        print(f"telegram/mattermost figures unavailable: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        services = await build_core(root / "data", copy_sample_kb(root / "kb"))
        services.index.finish()
        if args.llm_like:
            generator: AnswerGenerator = LlmLikeGenerator()
            services.engine.generator = generator
        try:
            for name, bench in benches.items():
                if args.only in (None, name):
                    result = await bench(services)
                    print("  ".join(f"{k}={v}" for k, v in result.items()), flush=True)
        finally:
            await close_services(services)


if __name__ == "__main__":
    asyncio.run(main())
