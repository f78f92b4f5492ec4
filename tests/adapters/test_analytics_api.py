"""The analytics API over HTTP: admin-only access, the stable summary body, gaps, A/B, variant states, CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from adapters.webchat.auth import COOKIE, Auth
from bot.app import create_app
from storage.models import Message, utcnow
from tests.analytics.seed import KNOWN, KNOWN_QUESTIONS, ab_questions, seed

REPO = Path(__file__).resolve().parents[2]
STABLE_KEYS = {
    "questions",
    "answered",
    "abstained",
    "escalated",
    "votes_up",
    "votes_down",
    "satisfaction",
    "deflection_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "by_channel",
}


@pytest.fixture
async def app(core):
    core.settings.webchat.admins = ["Alice"]
    app = create_app(core.settings, channels=())
    app.state.services = core
    return app


async def client_as(app, core, name: str | None) -> httpx.AsyncClient:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora")
    if name is not None:
        client.cookies.set(COOKIE, await Auth(core.settings.webchat, core.db).cookie_for(name))
    return client


async def test_summary_needs_an_admin(app, core) -> None:
    core.settings.api.require_token = True  # as in production
    async with await client_as(app, core, None) as anonymous:
        r = await anonymous.get("/api/v1/analytics/summary?days=7")
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
        bad = await anonymous.get("/api/v1/analytics/summary", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
    async with await client_as(app, core, "Bob") as bob:
        assert (await bob.get("/api/v1/analytics/summary?days=7")).status_code == 403
        assert (await bob.get("/api/v1/analytics/export/summary.csv")).status_code == 403
        r = await bob.put("/api/v1/analytics/ab/concise", json={"status": "stopped"})
        assert r.status_code == 403
    async with await client_as(app, core, "alice") as alice:  # admins match case-insensitively
        assert (await alice.get("/api/v1/analytics/summary?days=7")).status_code == 200


async def test_admin_scope_token(app, core) -> None:
    core.settings.api.require_token = True
    _, asker = await core.tokens.create("bot-client", ("ask", "feedback"))
    _, admin = await core.tokens.create("grafana", ("admin",))
    async with await client_as(app, core, None) as client:
        r = await client.get("/api/v1/analytics/summary", headers={"Authorization": f"Bearer {asker}"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await client.get("/api/v1/analytics/summary", headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200 and r.json()["questions"] == 0
    # a token decides alone: an admin's cookie does not lift a token without the scope
    async with await client_as(app, core, "Alice") as alice:
        r = await alice.get("/api/v1/analytics/summary", headers={"Authorization": f"Bearer {asker}"})
        assert r.status_code == 403


async def test_local_mode_still_needs_an_admin_for_analytics(app, core) -> None:
    core.settings.api.require_token = False  # local mode: asking needs no token, analytics still does
    async with await client_as(app, core, None) as local:
        assert (await local.get("/api/v1/analytics/summary?days=7")).status_code == 403


async def test_summary_body_is_stable_and_correct(app, core) -> None:
    await seed(core.db, KNOWN_QUESTIONS, utcnow())
    async with await client_as(app, core, "Alice") as alice:
        body = (await alice.get("/api/v1/analytics/summary?days=30")).json()
        assert set(body) >= STABLE_KEYS
        for key in STABLE_KEYS - {"by_channel"}:
            assert body[key] == KNOWN[key], key
        assert set(body["by_channel"]) == {"slack", "telegram", "web"}
        assert (await alice.get("/api/v1/analytics/summary?days=0")).status_code == 422


async def test_an_asked_question_is_counted_with_its_first_token_time(app, core) -> None:
    async with await client_as(app, core, "Alice") as alice:
        r = await alice.post(
            "/api/v1/ask",
            json={"text": "How do I roll back a helm release?", "user_id": "u1", "role": "devops"},
        )
        assert r.status_code == 200, r.text
        body = (await alice.get("/api/v1/analytics/summary?days=1")).json()
        assert body["questions"] == 1 and body["by_channel"]["api"]["questions"] == 1
        assert body["ttft_p50_ms"] is not None and body["ttft_p50_ms"] <= body["latency_p50_ms"]
        roles = (await alice.get("/api/v1/analytics/overview?days=1")).json()["roles"]
        assert roles[0]["role"] == "devops"
    async with core.db.session() as s:
        answer = (await s.execute(select(Message).where(Message.kind == "answer"))).scalar_one()
        assert answer.ttft_ms is not None and 0 <= answer.ttft_ms <= answer.latency_ms


async def test_ab_page_data_and_variant_states(app, core) -> None:
    now = utcnow()
    await seed(core.db, ab_questions("control", 120, 60, 40) + ab_questions("concise", 120, 75, 25), now)
    core.settings.providers.variants = [
        type(core.settings.providers.variants[0])(name="control", weight=1.0),
        type(core.settings.providers.variants[0])(name="concise", weight=1.0),
    ]
    core.extras.pop("analytics", None)
    async with await client_as(app, core, "Alice") as alice:
        body = (await alice.get("/api/v1/analytics/ab?days=7")).json()
        rows = {r["variant"]: r for r in body["variants"]}
        assert body["baseline"] == "control"
        concise = rows["concise"]
        assert (concise["answers"], concise["votes_up"], concise["votes_down"]) == (120, 75, 25)
        assert concise["verdict"] == "better" and concise["verdict_en"] == "concise better, p = 0.02"
        assert concise["satisfaction_ci"] == [0.657, 0.8245]  # Wilson 75/100
        assert concise["vote_rate"] == round(100 / 120, 4)

        r = await alice.put("/api/v1/analytics/ab/concise", json={"status": "promoted"})
        assert r.status_code == 200 and r.json() == {"variant": "concise", "status": "promoted"}
        rows = {r["variant"]: r for r in (await alice.get("/api/v1/analytics/ab?days=7")).json()["variants"]}
        assert rows["concise"]["status"] == "promoted" and rows["control"]["status"] == "active"
        await alice.put("/api/v1/analytics/ab/control", json={"status": "stopped"})
        await alice.put("/api/v1/analytics/ab/concise", json={"status": "active"})
        rows = {r["variant"]: r for r in (await alice.get("/api/v1/analytics/ab?days=7")).json()["variants"]}
        assert (rows["concise"]["status"], rows["control"]["status"]) == ("active", "stopped")
        bad = await alice.put("/api/v1/analytics/ab/concise", json={"status": "deleted"})
        assert bad.status_code == 422


async def test_csv_exports_hash_user_ids(app, core) -> None:
    await seed(core.db, KNOWN_QUESTIONS, utcnow())
    async with await client_as(app, core, "Alice") as alice:
        for table in ("summary", "daily", "documents", "comments", "roles", "escalations", "ab"):
            r = await alice.get(f"/api/v1/analytics/export/{table}.csv?days=30")
            assert r.status_code == 200, (table, r.text)
            assert r.headers["content-type"].startswith("text/csv")
            assert "attachment" in r.headers["content-disposition"]
        comments = list(
            csv.DictReader(
                io.StringIO((await alice.get("/api/v1/analytics/export/comments.csv?days=30")).text)
            )
        )
        assert {c["comment"] for c in comments} == {"outdated", "wrong flag"}
        assert all(c["user"].startswith("u_") and len(c["user"]) == 18 for c in comments)
        text = (await alice.get("/api/v1/analytics/export/comments.csv?days=30")).text
        assert "voter0" not in text and "slack:" not in text
        summary = list(
            csv.DictReader(
                io.StringIO((await alice.get("/api/v1/analytics/export/summary.csv?days=30")).text)
            )
        )
        assert summary[0]["channel"] == "all" and summary[0]["deflection_rate"] == "0.5"
        assert (await alice.get("/api/v1/analytics/export/secrets.csv")).status_code == 422


async def test_gaps_group_unanswered_questions_with_nearest_pages(app, core) -> None:
    await seed(core.db, KNOWN_QUESTIONS, utcnow())
    async with await client_as(app, core, "Alice") as alice:
        body = (await alice.get("/api/v1/analytics/gaps?days=30")).json()
    groups = body["groups"]
    # two phrasings of the password question form one group; the low-confidence Kafka answer its own
    assert [g["size"] for g in groups] == [2, 1]
    assert set(groups[0]["examples"]) == {
        "How do I rotate the database password?",
        "How to rotate the database password?",
    }
    assert groups[0]["abstained"] == 2 and groups[1]["low_confidence"] == 1
    assert groups[1]["examples"] == ["What is the retention period of Kafka topics?"]
    assert all(1 <= len(g["pages"]) <= 3 and g["pages"][0]["title"] for g in groups)
    assert body["questions"] == 3


async def test_metrics_gain_the_kpis(app, core) -> None:
    await seed(core.db, KNOWN_QUESTIONS, utcnow())
    core.settings.analytics.metrics_days = 30
    async with await client_as(app, core, None) as scraper:
        text = (await scraper.get("/metrics")).text
    assert 'opora_kpi_deflection_ratio{channel="all"} 0.5' in text
    assert 'opora_kpi_questions{channel="slack"} 5.0' in text
    assert 'opora_kpi_outcome_questions{channel="all",outcome="abstained"} 2.0' in text
    assert 'opora_kpi_answer_seconds{channel="all",quantile="p95"} 7.2' in text
    assert 'opora_kpi_first_token_seconds{channel="all",quantile="p50"} 0.3' in text
    assert 'opora_kpi_satisfaction_ratio{channel="all"} 0.6667' in text
    assert "opora_kpi_escalation_baseline_minutes 120.0" in text
    assert "opora_kpi_window_days 30.0" in text
    # every series the Grafana dashboard queries is one /metrics exposes
    dashboard = json.loads((REPO / "deploy" / "grafana" / "opora-dashboard.json").read_text())
    queried = {
        m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"opora_\w+", t["expr"])
    }
    assert len(queried) >= 8 and all(f"\n{name}" in text for name in queried), queried
