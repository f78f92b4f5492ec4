"""Telegram and Mattermost figures: 100 concurrent threads per platform against the fakes, real core.

Run: .venv/bin/python -m bench.messengers_tg_mm  (``bench.messengers`` can call ``bench_telegram`` /
``bench_mattermost`` beside its Slack figures.)

Per platform: p95 time from the event (webhook POST / websocket broadcast) to the first visible message
(the placeholder) and to the final answer (the edit that adds the feedback buttons), platform API calls
per answer, and duplicates: every event is delivered twice, a thread with two answers is a duplicate.
The fakes serve from their own threads and loops; edit intervals are the production defaults.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from adapters.mattermost import MattermostChannel
from adapters.telegram import TelegramChannel
from bot.config import MattermostSettings, TelegramSettings
from bot.services import Services
from tests.fakes.mattermost_server import FakeMattermostServer
from tests.fakes.telegram_server import FakeTelegramServer

THREADS = 100
QUESTIONS = [
    "How do I roll back a helm release?",
    "werf kube-run: how to copy a file back from the container?",
    "Which environment variables turn on werf debug output?",
    "How do I install a chart with helm?",
]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else -0.001


def summary(name: str, first: list[float], final: list[float], calls: int, answers: int, dupes: int) -> dict:
    return {
        "platform": name,
        "threads": THREADS,
        "answered": answers,
        "p95_first_visible_ms": round(pct(first, 0.95) * 1000),
        "p95_final_ms": round(pct(final, 0.95) * 1000),
        "p50_final_ms": round(pct(final, 0.5) * 1000),
        "api_calls_per_answer": round(calls / max(answers, 1), 2),
        "duplicates": dupes,
    }


async def _until(predicate: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not predicate() and time.monotonic() < deadline:  # noqa: ASYNC110 - state lives in another thread
        await asyncio.sleep(0.02)


async def bench_telegram(services: Services) -> dict[str, Any]:
    fake = FakeTelegramServer()
    fake.start_in_thread()
    settings = TelegramSettings(
        bot_token=fake.token, mode="webhook", webhook_secret="bench", api_url=fake.url
    )
    channel = TelegramChannel(services, settings)
    await channel.start()
    app = FastAPI()
    app.include_router(channel.router)  # type: ignore[arg-type]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora")
    sent_at: dict[int, float] = {}
    ids = itertools.count(1)

    async def one(chat_id: int) -> None:
        update = {
            "update_id": next(ids),
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "Dev"},
                "text": QUESTIONS[chat_id % len(QUESTIONS)],
            },
        }
        headers = {"X-Telegram-Bot-Api-Secret-Token": "bench"}
        sent_at[chat_id] = time.monotonic()
        for _ in range(2):  # the delivery and a webhook retry of it
            await http.post("/telegram/webhook", json=update, headers=headers)

    try:
        await asyncio.gather(*(one(chat) for chat in range(1, THREADS + 1)))
        await channel.idle()
        await _until(lambda: sum(1 for m in fake.sent() if m.reply_markup) >= THREADS, 60)
    finally:
        await http.aclose()
        await channel.stop()
        fake.stop_thread()
    first, final, dupes = [], [], 0
    for chat, t0 in sent_at.items():
        msgs = fake.sent(chat)
        done = [m for m in msgs if m.reply_markup]
        dupes += max(0, len(done) - 1)
        if msgs:
            first.append(min(m.stamps[0] for m in msgs) - t0)
        if done:
            final.append(done[-1].stamps[-1] - t0)
    calls = sum(fake.count(m) for m in ("sendMessage", "editMessageText", "setMessageReaction"))
    return summary("telegram", first, final, calls, len(final), dupes)


async def bench_mattermost(services: Services) -> dict[str, Any]:
    fake = FakeMattermostServer()
    fake.start_in_thread()
    settings = MattermostSettings(
        url=fake.url, token=fake.token, action_token="bench", action_url="http://opora/mattermost/actions"
    )
    channel = MattermostChannel(services, settings)
    await channel.start()
    sent_at: dict[str, float] = {}

    async def one(n: int) -> None:
        text = f"@opora {QUESTIONS[n % len(QUESTIONS)]}"
        t0 = time.monotonic()
        post = await asyncio.to_thread(
            fake.run,
            fake.user_post(user_id=f"user{n}", channel_id="chan", message=text, mentions=[fake.bot_user_id]),
        )
        sent_at[post.id] = t0
        await asyncio.to_thread(fake.run, fake.broadcast_posted(post, mentions=[fake.bot_user_id]))  # replay

    try:
        await asyncio.gather(*(one(n) for n in range(THREADS)))
        done = lambda: sum(1 for p in list(fake.posts.values()) if p.props.get("attachments"))  # noqa: E731
        await _until(lambda: done() >= THREADS, 60)
        await channel.idle()
    finally:
        await channel.stop()
        fake.stop_thread()
    first, final, dupes = [], [], 0
    for root, t0 in sent_at.items():
        posts = fake.bot_posts(root)
        finished = [p for p in posts if p.props.get("attachments")]
        dupes += max(0, len(finished) - 1)
        if posts:
            first.append(min(p.stamps[0] for p in posts) - t0)
        if finished:
            final.append(finished[-1].stamps[-1] - t0)
    calls = sum(fake.count(r) for r in ("POST /posts", "PUT /posts/patch", "POST /reactions"))
    return summary("mattermost", first, final, calls, len(final), dupes)


async def main() -> None:
    from bot.app import close_services
    from tests.conftest import build_core, copy_sample_kb

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        services = await build_core(root / "data", copy_sample_kb(root / "kb"))
        services.index.finish()
        try:
            for bench in (bench_telegram, bench_mattermost):
                result = await bench(services)
                print("  ".join(f"{k}={v}" for k, v in result.items()), flush=True)
        finally:
            await close_services(services)


if __name__ == "__main__":
    asyncio.run(main())
