"""The process as `opora serve` and the CLI run it: startup, background indexing, readiness, commands."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli
from tests.conftest import copy_sample_kb, core_settings

SMALL = ("helm/en/helm/helm_rollback.md", "werf/en/reference/debug_env_vars.md")


async def test_serve_answers_at_once_and_indexes_in_the_background(tmp_path):
    kb = copy_sample_kb(tmp_path / "kb", SMALL)
    settings = core_settings(tmp_path / "data", kb)
    settings.kb.ingest_on_start = True
    app = create_app(settings, channels=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://opora") as client:
            first = (await client.get("/readyz")).json()
            assert first["index"]["state"] in ("running", "done")
            early = await client.post("/api/v1/ask", json={"text": "helm rollback revision", "user_id": "u"})
            assert early.status_code == 200  # served while indexing: answered or abstained, never an error
            deadline = time.monotonic() + 180
            while (ready := (await client.get("/readyz")).json())["index"]["state"] != "done":
                assert ready["index"]["state"] != "failed", ready
                assert time.monotonic() < deadline, ready
                await asyncio.sleep(0.2)
            assert ready["index"]["percent"] == 100 and ready["vector_store"]["points"] > 0
            body = (
                await client.post("/api/v1/ask", json={"text": "helm rollback to a revision", "user_id": "u"})
            ).json()
            assert body["sources"][0]["path"] == "helm/en/helm/helm_rollback.md" and body["notice"] is None


def test_cli_ingest_is_incremental_and_ask_and_eval_print_results(tmp_path, monkeypatch):
    kb = copy_sample_kb(tmp_path / "kb", SMALL)
    monkeypatch.setenv("OPORA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPORA_KB__PATHS", json.dumps([str(kb)]))
    runner = CliRunner()
    first = runner.invoke(cli, ["ingest", str(kb)])
    assert first.exit_code == 0, first.output
    assert "added: 2" in first.output
    again = runner.invoke(cli, ["ingest", str(kb)])
    assert again.exit_code == 0 and "unchanged: 2" in again.output and "chunks: 0" in again.output

    asked = runner.invoke(cli, ["ask", "How do I make werf print stack traces periodically?"])
    assert asked.exit_code == 0, asked.output
    assert "WERF_PRINT_STACK_TRACES" in asked.output and "Sources" in asked.output
    assert "werf.io" in asked.output  # the source's link

    questions = tmp_path / "q.jsonl"
    rows = [
        {
            "id": "1",
            "question": "werf goroutine stack traces every N seconds",
            "lang": "en",
            "gold_docs": ["werf/en/reference/debug_env_vars.md"],
            "must_contain": ["WERF_PRINT_STACK_TRACES"],
            "expect": "answer",
        },
        {
            "id": "2",
            "question": "how do I request a new laptop for an intern?",
            "lang": "en",
            "gold_docs": [],
            "must_contain": [],
            "expect": "abstain",
        },
        {
            "id": "3",
            "question": "production is down, every request returns 502",
            "lang": "en",
            "gold_docs": [],
            "must_contain": [],
            "expect": "escalate",
        },
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows))
    result = runner.invoke(cli, ["eval", str(questions), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{") :])["metrics"]
    assert metrics["hit@1"] == 1.0 and metrics["answers_with_facts"] == 1.0
    assert metrics["abstain_recall"] == 1.0 and metrics["escalate_recall"] == 1.0
    table = runner.invoke(cli, ["eval", str(questions)])
    assert table.exit_code == 0 and "mrr@10" in table.output


def test_cli_errors_are_clear(tmp_path, monkeypatch):
    monkeypatch.setenv("OPORA_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    missing = runner.invoke(cli, ["ingest", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "Not a folder" in missing.output
    empty = runner.invoke(cli, ["ask", "   "])
    assert empty.exit_code == 2 and "empty" in empty.output
    monkeypatch.setenv("OPORA_CONFIG", str(tmp_path / "missing.yaml"))
    bad = runner.invoke(cli, ["ask", "hi"])
    assert bad.exit_code == 2 and "Configuration error" in bad.output
