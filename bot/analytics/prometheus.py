"""The KPIs as Prometheus gauges on ``/metrics``, over the last ``analytics.metrics_days`` days.

They are recomputed from the database at scrape time, at most once per ``analytics.metrics_refresh_seconds``
(scrapes in between read the last values), so every replica reports the same numbers and a scrape never
waits on more than one computation. ``channel="all"`` is the total. A KPI without data is NaN.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import structlog
from prometheus_client import Gauge

from bot.analytics import metrics
from bot.analytics.records import Window
from bot.analytics.service import Analytics, analytics_for

log = structlog.get_logger(__name__)

WINDOW = Gauge("opora_kpi_window_days", "Days the opora_kpi_* gauges cover")
QUESTIONS = Gauge("opora_kpi_questions", "Questions asked in the window", ["channel"])
OUTCOMES = Gauge(
    "opora_kpi_outcome_questions",
    "Questions by outcome (answered, abstained, escalated, no_answer)",
    ["channel", "outcome"],
)
DEFLECTION = Gauge(
    "opora_kpi_deflection_ratio",
    "Answered, not escalated, no 👎 within 24 h, over all questions",
    ["channel"],
)
SATISFACTION = Gauge("opora_kpi_satisfaction_ratio", "👍 share of votes", ["channel"])
VOTE_RATE = Gauge("opora_kpi_vote_rate_ratio", "Answers with at least one vote, over answers", ["channel"])
ANSWER_SECONDS = Gauge("opora_kpi_answer_seconds", "Time to the full answer", ["channel", "quantile"])
FIRST_TOKEN_SECONDS = Gauge(
    "opora_kpi_first_token_seconds", "Time to the first token", ["channel", "quantile"]
)
ESCALATIONS = Gauge("opora_kpi_escalations", "Escalated threads in the window")
ESCALATION_MINUTES = Gauge(
    "opora_kpi_escalation_minutes",
    "Minutes from escalation to acknowledge / first_reply / resolve",
    ["step", "quantile"],
)
ESCALATION_WITHIN = Gauge(
    "opora_kpi_escalation_within_baseline_ratio",
    "Escalations that reached the step within the baseline",
    ["step"],
)
BASELINE = Gauge("opora_kpi_escalation_baseline_minutes", "The configured time to answer before Opora")


def _value(x: float | None, scale: float = 1.0) -> float:
    return math.nan if x is None else x * scale


def publish(summary: dict[str, Any], escalations: dict[str, Any], days: int) -> None:
    """Set every gauge from a summary body and the escalation times."""
    WINDOW.set(days)
    channels = {"all": summary, **summary.get("by_channel", {})}
    for channel, kpis in channels.items():
        QUESTIONS.labels(channel).set(kpis["questions"])
        for outcome in ("answered", "abstained", "escalated", "no_answer"):
            OUTCOMES.labels(channel, outcome).set(kpis[outcome])
        DEFLECTION.labels(channel).set(_value(kpis["deflection_rate"]))
        SATISFACTION.labels(channel).set(_value(kpis["satisfaction"]))
        VOTE_RATE.labels(channel).set(_value(kpis["vote_rate"]))
        for q in ("p50", "p95"):
            ANSWER_SECONDS.labels(channel, q).set(_value(kpis[f"latency_{q}_ms"], 0.001))
            FIRST_TOKEN_SECONDS.labels(channel, q).set(_value(kpis[f"ttft_{q}_ms"], 0.001))
    ESCALATIONS.set(escalations["escalations"])
    BASELINE.set(escalations["baseline_minutes"])
    for step, row in escalations["steps"].items():
        ESCALATION_MINUTES.labels(step, "p50").set(_value(row["p50_minutes"]))
        ESCALATION_MINUTES.labels(step, "p95").set(_value(row["p95_minutes"]))
        ESCALATION_WITHIN.labels(step).set(_value(row["within_baseline_rate"]))


class KpiGauges:
    """Refreshes the gauges at most once per ``every`` seconds; concurrent scrapes share one refresh."""

    def __init__(self, analytics: Analytics, *, days: int, every: float) -> None:
        self.analytics = analytics
        self.days = days
        self.every = every
        self._at = -math.inf
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        if time.monotonic() - self._at < self.every:
            return
        async with self._lock:
            if time.monotonic() - self._at < self.every:
                return
            try:
                data = await self.analytics.load(Window.last_days(self.days))
                cfg = self.analytics.settings
                summary = metrics.summary(
                    data.questions, data.votes, window_hours=cfg.deflection_window_hours
                )
                times = metrics.escalation_times(
                    data.escalations, baseline_minutes=cfg.escalation_baseline_minutes
                )
                publish(summary, times, self.days)
            except Exception:  # a scrape reports what it has; the next one tries again
                log.exception("analytics.gauges_failed")
            self._at = time.monotonic()


async def refresh_kpis(services: Any) -> None:
    """Bring the KPI gauges up to date for a ``/metrics`` scrape (one ``KpiGauges`` per process)."""
    gauges: KpiGauges | None = services.extras.get("kpi_gauges")
    if gauges is None:
        cfg = services.settings.analytics
        gauges = KpiGauges(analytics_for(services), days=cfg.metrics_days, every=cfg.metrics_refresh_seconds)
        services.extras["kpi_gauges"] = gauges
    await gauges.refresh()
