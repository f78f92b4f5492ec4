"""Scheduled analytics jobs: the daily documentation-gaps digest to a channel, and raw-text retention.

The digest goes to ``analytics.digest_channel`` (``<platform>:<channel id>``) through that messenger's
adapter (its ``post_text``), at ``analytics.digest_hour`` UTC, covering ``analytics.digest_days`` days. It
is read by a channel, so it lists public pages only. Nothing is posted when there are no gaps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from bot.analytics.access import Viewer
from bot.analytics.records import Window
from bot.analytics.service import Analytics, analytics_for
from bot.errors import FeatureNotSupported, InvalidInput
from storage.models import utcnow
from storage.repositories.retention import erase_user_text

if TYPE_CHECKING:
    from bot.scheduler.core import JobContext, Scheduler
    from bot.services import Services

log = structlog.get_logger(__name__)
DIGEST_JOB = "analytics.digest"
RETENTION_JOB = "analytics.retention"
MAX_CHARS = 3500  # under Telegram's 4096, far under Slack's and Mattermost's limits

TEXTS: dict[str, dict[str, str]] = {
    "title": {
        "en": "Documentation gaps, last {days} days: {questions} questions in {groups} groups",
        "ru": "Пробелы в документации за {days} дн.: {questions} вопросов в {groups} группах",
    },
    "group": {"en": "{n}× {example}", "ru": "{n}× {example}"},
    "kinds": {
        "en": "no answer {abstained}, low confidence {low}",
        "ru": "без ответа {abstained}, неуверенно {low}",
    },
    "pages": {"en": "nearest pages: {pages}", "ru": "ближайшие страницы: {pages}"},
    "more": {
        "en": "…and {n} more groups on the analytics page",
        "ru": "…и ещё {n} групп на странице аналитики",
    },
}


def _t(key: str, lang: str, **values: Any) -> str:
    return TEXTS[key][lang].format(**values)


def render_digest(gaps: dict[str, Any], *, lang: str, days: int, top: int = 10) -> str:
    """The digest text: the largest groups first, each with its size, an example and the nearest pages."""
    groups = gaps["groups"]
    lines = [_t("title", lang, days=days, questions=gaps["questions"], groups=len(groups)), ""]
    shown = 0
    for g in groups[:top]:
        block = [
            _t("group", lang, n=g["size"], example=g["examples"][0]),
            "   " + _t("kinds", lang, abstained=g["abstained"], low=g["low_confidence"]),
        ]
        titles = [p["title"] for p in g["pages"] if p.get("title")]
        if titles:
            block.append("   " + _t("pages", lang, pages=", ".join(titles)))
        if sum(len(x) + 1 for x in lines + block) > MAX_CHARS - 100:
            break
        lines += block
        shown += 1
    if len(groups) > shown:
        lines += ["", _t("more", lang, n=len(groups) - shown)]
    return "\n".join(lines)


class TextPoster(Protocol):
    async def post_text(self, channel: str, text: str) -> str:
        """Post ``text`` to ``channel``; returns the platform's id of the posted message."""
        ...


def parse_target(target: str) -> tuple[str, str]:
    platform, _, channel = target.partition(":")
    if not platform or not channel:
        raise InvalidInput(
            f"analytics.digest_channel must be '<platform>:<channel id>', not {target!r}.",
            f"analytics.digest_channel должен иметь вид '<платформа>:<id канала>', а не {target!r}.",
        )
    return platform, channel


async def send_digest(
    analytics: Analytics, poster: TextPoster, channel: str, *, lang: str, days: int
) -> dict[str, int]:
    """Compute the gaps of the last ``days`` days and post them; nothing is posted without gaps."""
    gaps = await analytics.gaps(Window.last_days(days), Viewer(name="digest"))  # a channel: public pages
    if not gaps["groups"]:
        return {"groups": 0, "posted": 0}
    ref = await poster.post_text(channel, render_digest(gaps, lang=lang, days=days))
    log.info("analytics.digest_posted", channel=channel, groups=len(gaps["groups"]), ref=ref)
    return {"groups": len(gaps["groups"]), "questions": gaps["questions"], "posted": 1}


def digest_job(services: Services):  # type: ignore[no-untyped-def]
    cfg = services.settings.analytics

    async def job(ctx: JobContext) -> dict[str, int]:
        assert cfg.digest_channel is not None
        platform, channel = parse_target(cfg.digest_channel)
        adapter = services.extras.get("channels", {}).get(platform)
        if adapter is None or not hasattr(adapter, "post_text"):
            raise FeatureNotSupported(
                f"The digest cannot be posted: the {platform!r} channel is not running or cannot post.",
                f"Дайджест не отправить: канал {platform!r} не запущен или не умеет публиковать.",
            )
        return await send_digest(
            analytics_for(services), adapter, channel, lang=cfg.digest_lang, days=cfg.digest_days
        )

    return job


def retention_job(services: Services):  # type: ignore[no-untyped-def]
    days = services.settings.analytics.question_retention_days

    async def job(ctx: JobContext) -> dict[str, int]:
        async with services.db.session() as s:
            return await erase_user_text(s, before=utcnow() - timedelta(days=days))

    return job


def register_analytics_jobs(scheduler: Scheduler, services: Services) -> None:
    cfg = services.settings.analytics
    if cfg.digest_channel:
        scheduler.add(DIGEST_JOB, digest_job(services), cron=f"0 {cfg.digest_hour} * * *")
    if cfg.question_retention_days > 0:
        scheduler.add(RETENTION_JOB, retention_job(services), cron="30 3 * * *")
