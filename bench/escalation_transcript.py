"""A whole on-call story against a fake Slack, printed as a transcript.

    .venv/bin/python -m bench.escalation_transcript

question in #payments → the detector pages #ops (mentioning Anna, on call) → Anna presses Acknowledge →
Anna answers in the thread (the bot stays quiet) → Anna presses Resolve → a draft Q&A is captured → a
reviewer approves it → the same incident asked again in a new thread is answered from it. Everything
runs for real (adapter, engine, detector, outbox, lifecycle, capture) except Slack, which is
``tests.fakes.slack_server`` on 127.0.0.1. The knowledge base is empty, so the docs have no answer.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from adapters.slack import SlackChannel
from bot.app import build_services, close_services
from bot.config import Settings
from bot.escalation.messenger_targets import ACK_ACTION, RESOLVE_ACTION
from storage.repositories import escalations
from tests.fakes.slack_server import BOT_USER, FakeSlackServer, block_action, event, form, signed

SECRET = "transcript-signing-secret"
ASK_CHANNEL, OPS_CHANNEL = "CPAYMENTS", "COPS"
NAMES = {"UASKER": "Pavel", "UANNA": "Anna", "ULEAD": "Lena", BOT_USER: "Opora"}
QUESTION = "hey, payments fail for everyone since 10:00, checkout shows an error for every customer"
HUMAN = "Root cause: the payment gateway's TLS certificate expired at 10:00. I renewed it; payments are back."


class Story:
    def __init__(self, slack: FakeSlackServer, client: httpx.AsyncClient) -> None:
        self.slack, self.client, self.shown = slack, client, 0
        self.started = time.monotonic()

    async def post(self, body: str, content_type: str) -> None:
        headers = {"Content-Type": content_type, **signed(body, SECRET)}
        r = await self.client.post("/slack/events", content=body, headers=headers)
        assert r.status_code == 200, r.text

    async def say(
        self, user: str, text: str, *, thread: str | None = None, ts: str, mention: bool = True
    ) -> None:
        kind = "app_mention" if mention else "message"
        inner = {"type": kind, "user": user, "text": (f"<@{BOT_USER}> " if mention else "") + text, "ts": ts,
                 "channel": ASK_CHANNEL, "channel_type": "channel"}  # fmt: skip
        if thread:
            inner["thread_ts"] = thread
        self.line(ASK_CHANNEL, user, text, thread)
        await self.post(json.dumps(event(inner)), "application/json")

    async def press(self, user: str, action_id: str, page: Any) -> None:
        value = next(e["value"] for b in page.blocks if b["type"] == "actions" for e in b["elements"]
                     if e["action_id"] == action_id)  # fmt: skip
        label = "Acknowledge" if action_id == ACK_ACTION else "Resolve"
        print(f"{self.clock()}  #ops      {NAMES[user]} presses [{label}] on the page")
        payload = block_action(user=user, channel=OPS_CHANNEL, message_ts=page.ts, thread_ts=None,
                               action_id=action_id, value=value)  # fmt: skip
        await self.post(form(payload), "application/x-www-form-urlencoded")

    def clock(self) -> str:
        return f"[{time.monotonic() - self.started:5.1f}s]"

    def line(self, channel: str, user: str, text: str, thread: str | None) -> None:
        where = "#payments" if channel == ASK_CHANNEL else "#ops     "
        thread_note = " (thread)" if thread else ""
        first, *rest = text.strip().splitlines() or [""]
        print(f"{self.clock()}  {where}{thread_note} {NAMES.get(user, user)}: {first}")
        for more in rest:
            print(f"{' ' * 20}{more}")

    async def bot_lines(self, want: int, within: float = 60.0) -> None:
        """Print the bot's new messages (final versions) once ``want`` more have appeared."""
        deadline = time.monotonic() + within
        while True:
            posted = [m for ch in (ASK_CHANNEL, OPS_CHANNEL) for m in self.slack.messages(ch)]
            done = [m for m in posted if m.channel == OPS_CHANNEL or not m.text.startswith("Looking")]
            if len(done) >= self.shown + want:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("the bot did not answer in time")
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # let streamed edits settle
        posted = sorted((m for ch in (ASK_CHANNEL, OPS_CHANNEL) for m in self.slack.messages(ch)),
                        key=lambda m: float(m.ts))  # fmt: skip
        for m in posted[self.shown :]:
            self.line(m.channel, BOT_USER, shown_text(m), m.thread_ts)
        self.shown = len(posted)


def shown_text(message: Any) -> str:
    """What a person sees: the message's section and context blocks (the fallback ``text`` is short)."""
    parts = []
    for block in message.blocks:
        if block["type"] == "section" and "text" in block:
            parts.append(block["text"]["text"])
        elif block["type"] == "context":
            parts.extend(e.get("text", "") for e in block.get("elements", []))
    return "\n".join(p for p in parts if p.strip()) or message.text


async def main() -> None:
    slack = FakeSlackServer()
    await slack.start()
    for uid, name in NAMES.items():
        slack.users[uid] = {
            "id": uid,
            "name": name.lower(),
            "is_bot": False,
            "profile": {"display_name": name},
        }
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp),
            kb={"paths": [], "ingest_on_start": False},
            scheduler={"enabled": False},
            slack={"bot_token": "xoxb-transcript", "signing_secret": SECRET, "mode": "http",
                   "api_url": f"{slack.url}/api/"},
            escalation={"targets": [{"kind": "slack", "channel": OPS_CHANNEL}],
                        "rotations": [{"people": [{"name": "Anna", "slack": "UANNA"}, {"name": "Boris"}],
                                       "timezone": "Europe/Moscow", "start": "2026-01-05"}],
                        "contact": "#ops or +7 495 000-00-00"},
        )  # fmt: skip
        services = await build_services(settings)
        prepare = getattr(services.extras.get("embedder"), "prepare", None)
        if prepare is not None:
            await prepare()  # load the model before the story starts (a cold start is not the story)
        channel = SlackChannel(services, settings.slack)
        api = FastAPI()
        assert channel.router is not None
        api.include_router(channel.router)
        await channel.start()
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://o"
            ) as client:
                await run(Story(slack, client), services)
        finally:
            await channel.stop()
            await close_services(services)
            await slack.close()


async def run(story: Story, services: Any) -> None:
    print("== question → page")
    await story.say("UASKER", QUESTION, ts="1000.000001")
    await story.bot_lines(2)  # the answer in the thread and the page in #ops
    page = story.slack.messages(OPS_CHANNEL)[-1]
    print("== acknowledge")
    await story.press("UANNA", ACK_ACTION, page)
    await story.bot_lines(1)
    print("== a human answers in the thread (the bot stays quiet there)")
    await story.say("UANNA", HUMAN, thread="1000.000001", ts="1000.000002", mention=False)
    await asyncio.sleep(1.0)
    await story.bot_lines(0)
    print("== resolve → captured draft")
    await story.press("UANNA", RESOLVE_ACTION, page)
    await story.bot_lines(1)
    async with services.db.session() as s:
        [draft] = await escalations.list_captured(s, status="draft")
        [row] = await escalations.list_escalations(s)
    print(f"{story.clock()}  review queue: entry #{draft.id} by {draft.answered_by}: {draft.answer!r}")
    await services.engine.captured.review(draft.id, approve=True, reviewer="Lena")
    print(f"{story.clock()}  Lena approves entry #{draft.id} (indexed at once)")
    times = {k: getattr(row, k) for k in ("created_at", "paged_at", "acknowledged_at", "first_human_reply_at",
                                           "resolved_at")}  # fmt: skip
    base = times["created_at"]
    stamps = " ".join(f"{k}=+{(v - base).total_seconds():.1f}s" for k, v in times.items() if v)
    print(f"   escalation #{row.id}: state={row.state} assignee={row.assignee} {stamps}")
    print("== the same incident again, in a new thread → answered from the captured entry")
    again = "payments fail for everyone again, checkout shows an error for every customer"
    await story.say("UASKER", again, ts="2000.000001")
    await story.bot_lines(2)


if __name__ == "__main__":
    asyncio.run(main())
