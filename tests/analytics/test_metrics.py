"""Every KPI on the seeded data set with known answers, read back from a real database (SQLite and PG)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.analytics import metrics
from bot.analytics.access import Viewer
from bot.analytics.records import EscalationRecord, Window
from bot.analytics.service import Analytics
from bot.analytics.settings import AnalyticsSettings
from bot.analytics.stats import percentile
from rag.access import AccessScope
from storage.escalation_models import EscalationRow
from storage.models import Conversation, Message, utcnow
from tests.analytics.seed import KNOWN, KNOWN_QUESTIONS, Q, seed

NOW = utcnow()
ADMIN = Viewer("admin")


@pytest.fixture
async def analytics(db):
    await seed(db, KNOWN_QUESTIONS, NOW)
    return Analytics(db, AnalyticsSettings(), variants=["control", "concise"])


async def test_summary_matches_the_known_answers(analytics: Analytics) -> None:
    body = await analytics.summary(Window.last_days(30, now=NOW))
    for key in ("questions", "answered", "abstained", "escalated", "no_answer", "votes_up", "votes_down"):
        assert body[key] == KNOWN[key], key
    for key in ("satisfaction", "vote_rate", "deflection_rate"):
        assert body[key] == KNOWN[key], key
    assert body["deflected"] == KNOWN["deflected"]
    for key in ("latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "ttft_p95_ms"):
        assert body[key] == KNOWN[key], key
    for channel, expected in KNOWN["by_channel"].items():
        for key, value in expected.items():
            assert body["by_channel"][channel][key] == value, (channel, key)


async def test_channel_filter_and_window(analytics: Analytics) -> None:
    slack = await analytics.summary(Window.last_days(30, channel="slack", now=NOW))
    assert slack["questions"] == 5 and list(slack["by_channel"]) == ["slack"]
    # questions i are asked i + 2 days ago: the last 3.5 days hold the first two
    recent = await analytics.summary(Window(NOW - timedelta(days=3.5), NOW))
    assert recent["questions"] == 2 and recent["votes_down"] == 1


async def test_deflection_counts_only_downvotes_within_the_window(analytics: Analytics) -> None:
    # the 👎 on "werf converge options" came 30 h after the answer: still deflected at 24 h, not at 48 h
    strict = Analytics(analytics.db, AnalyticsSettings(deflection_window_hours=48))
    body = await strict.summary(Window.last_days(30, now=NOW))
    assert body["deflected"] == KNOWN["deflected"] - 1


async def test_overview_documents_roles_comments(analytics: Analytics) -> None:
    view = await analytics.overview(Window.last_days(30, now=NOW), ADMIN)
    cited = {d["doc_id"]: d["cited"] for d in view["documents"]["most_cited"]}
    assert cited == {"doc-a": 4, "doc-b": 2, "doc-c": 1}
    assert view["documents"]["most_cited"][0]["title"] == "Deploying with werf"
    down = [(d["doc_id"], d["votes_down"]) for d in view["documents"]["most_downvoted"]]
    assert down == [("doc-a", 2), ("doc-b", 1)]
    roles = {r["role"]: (r["questions"], r["satisfaction"]) for r in view["roles"]}
    assert roles == {"default": (4, 0.6667), "backend": (3, 0.5), "devops": (3, 1.0)}
    comments = view["comments"]
    assert [c["comment"] for c in comments] == ["outdated", "wrong flag"]
    assert all(c["user"].startswith("u_") and "voter" not in c["user"] for c in comments)
    days = view["daily"]
    assert len(days) == 31 and sum(d["questions"] for d in days) == 10
    assert sum(d["by_channel"].get("telegram", 0) for d in days) == 3


def test_percentile_is_numpy_linear() -> None:
    np = pytest.importorskip("numpy")
    values = [500, 700, 1000, 2000, 3000, 4000, 5000, 6000, 8000]
    for q in (0, 10, 50, 90, 95, 99, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert percentile([], 50) is None
    assert percentile([7], 95) == 7


def test_escalation_times_against_the_baseline() -> None:
    t0 = NOW
    rows = [
        EscalationRecord(
            0,
            t0,
            t0 + timedelta(minutes=5),
            t0 + timedelta(minutes=10),
            t0 + timedelta(minutes=60),
            "critical",
            "slack",
        ),
        EscalationRecord(
            0,
            t0,
            t0 + timedelta(minutes=15),
            t0 + timedelta(minutes=130),
            t0 + timedelta(minutes=300),
            "high",
            "slack",
        ),
        EscalationRecord(0, t0, None, None, None, "normal", "web"),
    ]
    out = metrics.escalation_times(rows, baseline_minutes=120)
    ack, reply, resolve = (out["steps"][s] for s in ("acknowledge", "first_reply", "resolve"))
    assert (ack["reached"], ack["p50_minutes"], ack["within_baseline"]) == (2, 10.0, 2)
    assert ack["within_baseline_rate"] == round(2 / 3, 4)
    assert (reply["p50_minutes"], reply["within_baseline"]) == (70.0, 1)
    assert (resolve["p95_minutes"], resolve["within_baseline"]) == (288.0, 1)
    assert out["by_severity"] == {"critical": 1, "high": 1, "normal": 1}


async def test_escalations_table_feeds_times_and_outcomes(analytics: Analytics) -> None:
    """A thread escalated after its answer: the question counts as escalated; its clock gives the times."""
    async with analytics.db.session() as s:
        question = (
            await s.execute(select(Message).where(Message.text == "How do I deploy with werf?"))
        ).scalar_one()
        conv = await s.get(Conversation, question.conversation_id)
        assert conv is not None
        at = question.created_at + timedelta(hours=2)
        s.add(
            EscalationRow(
                conversation_id=conv.id,
                platform=conv.platform,
                channel=conv.channel,
                thread=conv.thread,
                trigger="user_request",
                severity="normal",
                state="resolved",
                created_at=at,
                acknowledged_at=at + timedelta(minutes=4),
                first_human_reply_at=at + timedelta(minutes=12),
                resolved_at=at + timedelta(minutes=150),
            )
        )
    view = await analytics.overview(Window.last_days(30, now=NOW), ADMIN)
    summary = view["summary"]
    assert (summary["answered"], summary["escalated"]) == (KNOWN["answered"] - 1, KNOWN["escalated"] + 1)
    assert summary["deflected"] == KNOWN["deflected"] - 1
    steps = view["escalations"]["steps"]
    assert view["escalations"]["escalations"] == 1 and view["escalations"]["baseline_minutes"] == 120
    assert (steps["acknowledge"]["p50_minutes"], steps["first_reply"]["p50_minutes"]) == (4.0, 12.0)
    assert (steps["resolve"]["p50_minutes"], steps["resolve"]["within_baseline"]) == (150.0, 0)


async def test_restricted_pages_only_for_admins_who_may_read_them(db) -> None:
    questions = [
        Q(
            "web",
            "answered",
            1000,
            100,
            "control",
            [("doc-secret", 0.9)],
            [(-1, 1, "stale")],
            text="payroll?",
        ),
        Q("web", "answered", 1000, 100, "control", [("doc-a", 0.9)], [], text="werf?"),
    ]
    await seed(db, questions, NOW)
    analytics = Analytics(db, AnalyticsSettings())
    window = Window.last_days(30, now=NOW)
    outsider = await analytics.overview(
        window, Viewer("alice", "alice@example.com", AccessScope.for_user("alice@x"))
    )
    rows = outsider["documents"]["most_cited"]
    assert {r["title"] for r in rows} == {"Deploying with werf", None}
    hidden = next(r for r in rows if r["restricted"])
    assert hidden["url"] is None and hidden["doc_id"] is None and "access" not in hidden
    assert "Payroll" not in str(outsider) and "carol" not in str(outsider) and "finance" not in str(outsider)
    reader = Viewer("carol", "carol@example.com", AccessScope.for_user("carol@example.com"))
    visible = await analytics.overview(window, reader)
    assert "Payroll runbook" in {r["title"] for r in visible["documents"]["most_cited"]}
    assert "carol@" not in str(visible["documents"])  # the readers are never shown
    group = Viewer("dan", "dan@example.com", AccessScope.for_user("dan@example.com", ["finance"]))
    assert (await analytics.overview(window, group))["documents"]["most_downvoted"][0][
        "title"
    ] == "Payroll runbook"
