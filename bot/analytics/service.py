"""``Analytics``: the one object the routes, the digest job and the /metrics gauges ask for numbers.

It loads the records of a window, runs the definitions in ``bot.analytics.metrics`` / ``ab`` / ``gaps`` and
applies the privacy rules (hashed user ids, restricted pages blanked for viewers who may not read them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from bot.analytics import ab, metrics
from bot.analytics.access import Viewer, redact_pages
from bot.analytics.exports import UserHasher, to_csv
from bot.analytics.gaps import PageFinder, QueryEmbedder, find_gaps
from bot.analytics.records import (
    EscalationRecord,
    QuestionRecord,
    VoteRecord,
    Window,
    attach_escalations,
    load_escalations,
    load_questions,
    load_votes,
)
from bot.analytics.settings import AnalyticsSettings
from bot.analytics.variants import VariantStates
from storage.db import Database

log = structlog.get_logger(__name__)
_EPSILON = timedelta(microseconds=1)
TABLES = ("summary", "daily", "documents", "comments", "roles", "escalations", "gaps", "ab")


@dataclass(slots=True)
class Loaded:
    questions: list[QuestionRecord]
    votes: list[VoteRecord]
    escalations: list[EscalationRecord]


class Analytics:
    def __init__(
        self,
        db: Database,
        settings: AnalyticsSettings,
        *,
        variants: Sequence[str] = ("control",),
        embedder: QueryEmbedder | None = None,
        pages: PageFinder | None = None,
        variant_states: VariantStates | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.variants = list(variants)
        self.embedder = embedder
        self.pages = pages
        self.variant_states = variant_states or VariantStates(db, ttl=0.0)
        self.hasher = UserHasher(db)

    async def load(self, window: Window) -> Loaded:
        async with self.db.session() as s:
            questions = await load_questions(s, window)
            await attach_escalations(s, questions, window_hours=self.settings.deflection_window_hours)
            votes = await load_votes(s, window)
            escalations = await load_escalations(s, window)
        return Loaded(questions, votes, escalations)

    @property
    def _hours(self) -> float:
        return self.settings.deflection_window_hours

    async def summary(self, window: Window) -> dict[str, Any]:
        data = await self.load(window)
        body = metrics.summary(data.questions, data.votes, window_hours=self._hours)
        return {**body, "since": window.since.isoformat(), "until": window.until.isoformat()}

    async def overview(self, window: Window, viewer: Viewer) -> dict[str, Any]:
        """Everything the dashboard shows, in one call."""
        data = await self.load(window)
        hours = self._hours
        docs = metrics.documents(data.questions, data.votes)
        return {
            "since": window.since.isoformat(),
            "until": window.until.isoformat(),
            "channel": window.channel,
            "summary": metrics.summary(data.questions, data.votes, window_hours=hours),
            "daily": metrics.daily(
                data.questions,
                data.votes,
                start=window.since.date(),
                end=(window.until - _EPSILON).date(),
                window_hours=hours,
            ),
            "roles": metrics.roles(data.questions, data.votes, window_hours=hours),
            "documents": {key: redact_pages(viewer, rows) for key, rows in docs.items()},
            "comments": [
                {**c, "sources": redact_pages(viewer, c["sources"])}
                for c in await self._hashed(metrics.downvote_comments(data.questions, data.votes))
            ],
            "escalations": metrics.escalation_times(
                data.escalations, baseline_minutes=self.settings.escalation_baseline_minutes
            ),
        }

    async def _hashed(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "user": await self.hasher.hash(r.get("user"))} for r in rows]

    async def gaps(self, window: Window, viewer: Viewer) -> dict[str, Any]:
        if self.embedder is None:
            raise RuntimeError("documentation gaps need an embedder")
        data = await self.load(window)
        cfg = self.settings
        groups = await find_gaps(
            data.questions,
            embedder=self.embedder,
            pages=self.pages,
            access=viewer.scope,
            low_confidence=cfg.low_confidence,
            distance=cfg.gap_distance,
            min_size=cfg.gap_min_size,
            limit=cfg.gaps_limit,
            examples=cfg.gap_examples,
            page_count=cfg.gap_pages,
        )
        out = []
        for gap in groups:
            row = gap.public()
            row["pages"] = redact_pages(viewer, row["pages"])
            out.append(row)
        total = sum(g["size"] for g in out)
        return {
            "since": window.since.isoformat(),
            "until": window.until.isoformat(),
            "questions": total,
            "groups": out,
        }

    async def ab(self, window: Window) -> dict[str, Any]:
        data = await self.load(window)
        return ab.results(
            data.questions,
            data.votes,
            configured=self.variants,
            states=await self.variant_states.states(),
            min_votes=self.settings.ab_min_votes,
            min_effect=self.settings.ab_min_effect,
        )

    async def set_variant(self, name: str, status: str, *, by: str | None) -> dict[str, Any]:
        await self.variant_states.set(name, status, by=by)
        return {"variant": name, "status": status}

    async def table(self, name: str, window: Window, viewer: Viewer) -> list[dict[str, Any]]:
        """One dashboard table as flat rows (what the CSV export writes)."""
        if name == "gaps":
            return [
                {**g, "examples": " | ".join(g["examples"]), "pages": [p["title"] for p in g["pages"]]}
                for g in (await self.gaps(window, viewer))["groups"]
            ]
        if name == "ab":
            return [
                {k: v for k, v in row.items() if k != "verdict_ru"}
                for row in (await self.ab(window))["variants"]
            ]
        view = await self.overview(window, viewer)
        if name == "summary":
            body = view["summary"]
            rows = [{"channel": "all", **{k: v for k, v in body.items() if k != "by_channel"}}]
            return rows + [{"channel": c, **v} for c, v in body["by_channel"].items()]
        if name == "daily":
            return view["daily"]
        if name == "documents":
            docs = view["documents"]
            return [{"list": "most_cited", **r} for r in docs["most_cited"]] + [
                {"list": "most_downvoted", **r} for r in docs["most_downvoted"]
            ]
        if name == "comments":
            return [
                {**c, "sources": [p["title"] or "(restricted)" for p in c["sources"]]}
                for c in view["comments"]
            ]
        if name == "roles":
            return view["roles"]
        if name == "escalations":
            esc = view["escalations"]
            return [
                {
                    "step": step,
                    "escalations": esc["escalations"],
                    "baseline_minutes": esc["baseline_minutes"],
                    **v,
                }
                for step, v in esc["steps"].items()
            ]
        raise KeyError(name)

    async def csv(self, name: str, window: Window, viewer: Viewer) -> str:
        return to_csv(await self.table(name, window, viewer))


def analytics_for(services: Any) -> Analytics:
    """The process's ``Analytics`` over ``services`` (built once, kept in ``services.extras``)."""
    found = services.extras.get("analytics")
    if found is None:
        settings = services.settings
        found = Analytics(
            services.db,
            settings.analytics,
            variants=[v.name for v in settings.providers.variants],
            embedder=services.extras.get("embedder"),
            pages=services.extras.get("retriever"),
        )
        services.extras["analytics"] = found
    return found
