"""Opora with a month of seeded analytics data, for the admin section's browser test and its screenshots.

``python -m tests.analytics.demo_server --port 8766 --data /tmp/x``: the production app (``bot.app``) over
the web chat's sample KB, ``Alice`` is a web chat admin, two prompt variants are configured, and
``tests.analytics.seed.demo_questions``, three captured-answer drafts (``CAPTURED``, the review queue) and
three unresolved escalations (``ESCALATIONS``, the escalations page) are written before the server starts.
Callers poll ``/readyz``.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from pathlib import Path

import uvicorn

from bot.app import create_app
from bot.config import Settings
from storage.db import Database
from storage.models import utcnow
from storage.repositories import conversations, escalations, messages
from tests.analytics.seed import demo_questions, seed
from tests.webchat.sample import make_sample_kb

# (question, answer, lang, answered by, LLM summary?): drafts as knowledge capture writes them on resolution
CAPTURED = [
    ("How do contractors get VPN access?",
     "Open a ticket in #it-helpdesk with the contract number; the VPN profile arrives by e-mail.", "en",
     "Anna", False),
    ("Почему деплой в prod висит на шаге migrate?",
     "Миграция ждёт блокировку таблицы: найдите долгую транзакцию в pg_stat_activity и завершите её.", "ru",
     "Борис", True),
    ("Can I restart the payments worker during business hours?",
     "Only with a heads-up in #payments-oncall: in-flight jobs are retried, but twice is noisy.", "en",
     "Chen", False),
]  # fmt: skip


async def seed_captured(db: Database) -> None:
    now = utcnow()
    for question, answer, lang, person, summarised in CAPTURED:
        async with db.session() as s:
            await escalations.add_captured(
                s, escalation_id=None, question=question, answer=answer, lang=lang, answered_by=person,
                answered_at=now - timedelta(days=2), summarised=summarised,
            )  # fmt: skip


# (platform, channel, thread, question, lang, trigger, severity, on call, minutes ago, acknowledged by):
# unresolved escalations as the service opens them; "call a human" (user_request) names no question message
ESCALATIONS = [
    ("slack", "C0PAYMENTS", "1764324300.001200",
     "Payments fail for everyone since 10:00, customers cannot check out", "en", "detector", "critical",
     "Anna", 12, None),
    ("telegram", "-1001234567890", "4521", "Деплой в prod висит на шаге migrate уже полчаса, релиз стоит",
     "ru", "user_request", "high", "Борис", 40, None),
    ("web", "carol", "7f1c2a9e", "Grafana shows 5xx on checkout-api for a third of requests", "en",
     "detector", "critical", "Chen", 95, "Chen"),
]  # fmt: skip


async def seed_escalations(db: Database) -> None:
    now = utcnow()
    for platform, channel, thread, question, lang, trigger, severity, person, ago, acked_by in ESCALATIONS:
        at = now - timedelta(minutes=ago)
        async with db.session() as s:
            conv = await conversations.get_or_create_conversation(
                s, platform=platform, channel=channel, thread=thread, title=question
            )
            asked = await messages.add_question(
                s, conversation_id=conv.id, user_id=None, text=question, lang=lang
            )
            asked.created_at = at - timedelta(seconds=30)
            row, _ = await escalations.open_escalation(
                s, conversation_id=conv.id, platform=platform, channel=channel, thread=thread,
                trigger=trigger, severity=severity, reasons=[], assignee=person, now=at,
                question_message_id=None if trigger == "user_request" else asked.id,
            )  # fmt: skip
            await escalations.mark_paged(s, escalation_id=row.id, now=at + timedelta(seconds=3))
            if acked_by:
                await escalations.acknowledge(
                    s, escalation_id=row.id, by=acked_by, now=at + timedelta(minutes=6)
                )


def settings(data: Path) -> Settings:
    return Settings(
        data_dir=data,
        kb={"paths": [make_sample_kb(data / "kb")]},
        webchat={"admins": ["Alice"], "questions_per_minute": 60},
        providers={"variants": [{"name": "control", "weight": 1.0}, {"name": "concise", "weight": 1.0}]},
        analytics={"gap_min_size": 1},
        escalation={"repage_minutes": 24 * 60},  # the seeded open escalations keep their person while tested
    )


async def serve(port: int, data: Path) -> None:
    config = settings(data)
    db = Database(config.resolved_database_url)
    await db.migrate()
    await seed(db, demo_questions(), utcnow())
    await seed_captured(db)
    await seed_escalations(db)
    await db.close()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    await server.serve()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.port, args.data))


if __name__ == "__main__":
    main()
