"""Settings of analytics (``settings.analytics``): KPI windows, baseline, gaps, A/B, retention."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class AnalyticsSettings(BaseModel):
    escalation_baseline_minutes: float = 120.0  # the time to answer before Opora (the business goal: 15)
    deflection_window_hours: float = 24.0  # a 👎 or an escalation this soon after the answer undoes it
    low_confidence: float = 0.8  # answered, but the best source's relevance (0..1) is below this: a gap
    gap_distance: float = 0.12  # cosine distance joining questions into one group (2-fold CV: bench/gaps.py)
    gap_min_size: int = 1  # smaller groups are left out of the gaps list
    gaps_limit: int = 50  # groups in the gaps list and in the digest (largest first)
    gap_examples: int = 5  # example questions shown per group
    gap_pages: int = 3  # nearest pages shown per group
    ab_min_effect: float = 0.1  # difference in satisfaction to plan for when the observed one is zero
    ab_min_votes: int = 20  # votes each variant needs before any verdict
    digest_channel: str | None = None  # "<platform>:<channel id>", e.g. "slack:C0123"; None: no digest
    digest_hour: int = Field(default=9, ge=0, le=23)  # UTC hour of the daily documentation-gaps digest
    digest_days: int = 7  # the digest covers this many past days
    digest_lang: Literal["ru", "en"] = "en"
    question_retention_days: int = 0  # raw question text and 👎 comments older than this are erased; 0: kept
    metrics_days: int = 7  # window of the KPI gauges on /metrics
    metrics_refresh_seconds: float = 60.0  # KPI gauges are recomputed at most this often
