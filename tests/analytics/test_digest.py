"""The scheduled analytics jobs: the gaps digest posted to Slack (fake Slack, real adapter), retention."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.slack import SlackChannel
from bot.analytics.access import Viewer
from bot.analytics.digest import DIGEST_JOB, RETENTION_JOB, register_analytics_jobs, render_digest
from bot.analytics.records import Window
from bot.analytics.service import analytics_for
from bot.scheduler import Scheduler
from bot.services import Services
from storage.models import Conversation, Feedback, JobRun, Message, utcnow
from tests.adapters.conftest import slack_settings
from tests.analytics.seed import KNOWN, KNOWN_QUESTIONS, seed
from tests.fakes.slack_server import FakeSlackServer

pytestmark = pytest.mark.slow


@pytest.fixture
async def slack(core: Services) -> AsyncIterator[tuple[SlackChannel, FakeSlackServer]]:
    fake = FakeSlackServer()
    await fake.start()
    channel = SlackChannel(core, slack_settings(fake, "http"))
    await channel.start()
    core.extras["channels"] = {"slack": channel}
    yield channel, fake
    await channel.stop()
    await fake.close()


async def test_the_daily_digest_posts_the_gaps_to_the_configured_channel(core, slack) -> None:
    _, fake = slack
    await seed(core.db, KNOWN_QUESTIONS, utcnow())
    core.settings.analytics.digest_channel = "slack:C0DOCS"
    core.settings.analytics.digest_days = 30
    scheduler = Scheduler(core.db)
    register_analytics_jobs(scheduler, core)
    assert RETENTION_JOB not in scheduler.jobs  # retention is off by default
    assert await scheduler.run_now(DIGEST_JOB) == "ok"
    posted = fake.messages("C0DOCS")
    assert len(posted) == 1
    text = posted[0].text
    assert text.startswith("Documentation gaps, last 30 days: 3 questions in 2 groups")
    assert (
        "2× How do I rotate the database password?" in text
        or "2× How to rotate the database password?" in text
    )
    assert "1× What is the retention period of Kafka topics?" in text
    assert "nearest pages:" in text
    async with core.db.session() as s:
        run = (await s.execute(select(JobRun).where(JobRun.job == DIGEST_JOB))).scalar_one()
    assert run.status == "ok" and run.counts["posted"] == 1 and run.counts["groups"] == 2


async def test_the_digest_fails_loudly_when_its_channel_cannot_post(core) -> None:
    await seed(core.db, KNOWN_QUESTIONS, utcnow())
    core.settings.analytics.digest_channel = "telegram:-100123"  # telegram is not running here
    scheduler = Scheduler(core.db)
    register_analytics_jobs(scheduler, core)
    assert await scheduler.run_now(DIGEST_JOB) == "failed"
    async with core.db.session() as s:
        run = (await s.execute(select(JobRun).where(JobRun.job == DIGEST_JOB))).scalar_one()
    assert "telegram" in (run.error or "")


def test_render_digest_in_russian_and_within_the_limit() -> None:
    group = {"size": 3, "abstained": 2, "low_confidence": 1, "examples": ["Как сменить пароль?"],
             "pages": [{"title": "Секреты"}, {"title": None, "restricted": True}]}  # fmt: skip
    text = render_digest({"questions": 3, "groups": [group]}, lang="ru", days=7)
    assert text.splitlines()[0] == "Пробелы в документации за 7 дн.: 3 вопросов в 1 группах"
    assert "3× Как сменить пароль?" in text and "ближайшие страницы: Секреты" in text
    many = {"questions": 900, "groups": [{**group, "examples": ["x" * 300]}] * 60}
    long = render_digest(many, lang="en", days=7, top=60)
    assert len(long) <= 3500 and "more groups on the analytics page" in long


async def test_retention_erases_old_raw_text_and_keeps_the_counts(core) -> None:
    now = utcnow()
    await seed(core.db, KNOWN_QUESTIONS, now)  # question i is asked i + 2 days ago
    core.settings.analytics.question_retention_days = 5
    scheduler = Scheduler(core.db)
    register_analytics_jobs(scheduler, core)
    assert await scheduler.run_now(RETENTION_JOB) == "ok"
    async with core.db.session() as s:
        questions = list((await s.execute(select(Message).where(Message.kind == "question"))).scalars())
        comments = [f.comment for f in (await s.execute(select(Feedback))).scalars()]
        titles = [c.title for c in (await s.execute(select(Conversation))).scalars()]
    kept = [q for q in questions if q.text]
    assert all(q.created_at > now - timedelta(days=5) for q in kept) and len(kept) == 3
    assert "outdated" in comments and "wrong flag" not in comments  # by when the comment was written
    assert titles.count(None) == 7
    analytics = analytics_for(core)
    summary = await analytics.summary(Window.last_days(30, now=now))
    assert (
        summary["questions"] == KNOWN["questions"] and summary["deflection_rate"] == KNOWN["deflection_rate"]
    )
    gaps = await analytics.gaps(Window.last_days(30, now=now), Viewer("alice"))
    assert all(e for g in gaps["groups"] for e in g["examples"])  # erased questions are not shown as blanks
