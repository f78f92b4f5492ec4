"""The admin section in a real browser (Debian chromium + playwright-core) on a month of seeded data.

One demo server for the module; each ``*.mjs`` script drives chromium through ``harness.mjs`` and prints its
facts. Screenshots of the dashboard, the gaps list, the A/B page, the captured-answer review and the
escalations page go to ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.webchat.test_browser import ensure_tools, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"


def wait_ready(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 600.0) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("the demo server exited")
        try:
            ready = httpx.get(f"{url}/readyz", timeout=2)
            if ready.status_code == 200 and ready.json().get("index", {}).get("state") in ("done", "idle"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)  # polling with a deadline
    raise TimeoutError(f"{url} not ready in {deadline_s} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ensure_tools()
    port = free_port()
    data = tmp_path_factory.mktemp("analytics-browser")
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.analytics.demo_server", "--port", str(port), "--data", str(data)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def run_script(name: str, server: str) -> dict[str, Any]:
    """Run one browser script against ``server``; its facts (the last line it prints)."""
    result = subprocess.run(
        ["node", str(Path(__file__).with_name(name))],
        env={**os.environ, "OPORA_URL": server, "SHOTS_DIR": str(SHOTS)},
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_admin_section_in_chromium(server: str) -> None:
    facts = run_script("admin_browser.mjs", server)
    assert facts["bob_api"] == 403 and facts["bob_link"] == 0
    assert facts["chunk_loaded"] and not facts["chunk_before_admin"]
    assert int(facts["telegram_questions"]) < int(facts["questions"])
    assert int(facts["week_questions"]) < int(facts["questions"])
    assert facts["gaps"] >= 3 and facts["stored_status"] == "stopped"
    assert facts["phone_overflow"] <= 1
    for name in ("analytics-dashboard", "analytics-gaps", "analytics-ab", "analytics-phone-ru"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10000


def test_captured_answers_reviewed_in_chromium(server: str) -> None:
    facts = run_script("captured_browser.mjs", server)
    assert facts["bob_queue"] == 403
    assert facts["drafts"] == 3 and facts["after_failure"] == 2
    assert facts["stored_answer"] == [
        "Open a ticket in #it-helpdesk with the contract number and your manager in CC; "
        "the VPN profile arrives by e-mail."
    ]
    assert facts["empty_blocked"] and "did not answer" in facts["network_alert"]
    assert facts["rejected"] == ["Can I restart the payments worker during business hours?"]
    assert facts["export_has_approved"] and not facts["export_has_rejected"]
    assert "answered by Anna" in facts["chat_answer"]
    assert facts["ru_count"] == "На проверке: 1" and facts["phone_overflow"] <= 1
    for name in ("captured-review", "captured-review-error", "captured-phone-ru"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10000


def test_escalations_acknowledged_and_resolved_in_chromium(server: str) -> None:
    facts = run_script("escalations_browser.mjs", server)
    assert facts["bob_list"] == 403 and facts["bob_step"] == 403 and facts["bob_page"] == 0
    assert facts["untouched"] == "open"
    assert sorted(facts["first_two"]) == ["deploy", "payments"]
    assert facts["payments_link"] == "https://slack.com/archives/C0PAYMENTS/p1764324300001200"
    assert "Деплой в prod висит на шаге migrate" in facts["deploy_text"]  # "call a human": the thread's
    assert facts["after_ack"] == "acknowledged" and facts["stored_ack"] == ["acknowledged", "Alice"]
    assert facts["ack_buttons"] == 0
    assert facts["declined_posts"] == 0 and facts["after_decline"] == "acknowledged"
    assert facts["stored_resolve"] == ["resolved", "Alice"]
    assert "someone else" in facts["stale_note"] and facts["after_stale"] == "acknowledged"
    assert "did not answer" in facts["network_alert"] and facts["after_failure"] == ["acknowledged"] * 2
    assert "did not answer" in facts["list_alert"] and facts["resolved_shown"] == ["resolved", True]
    assert facts["steps"] == [
        "/api/v1/escalations/{id}/acknowledge",
        "/api/v1/escalations/{id}/resolve",
        "/api/v1/escalations/{id}/acknowledge",
        "/api/v1/escalations/{id}/resolve",  # the one the server never got
    ]
    assert facts["ru_nav"] == "Эскалации" and facts["ru_resolve"] >= 1 and facts["phone_overflow"] <= 1
    assert (SHOTS / "escalations-admin.png").stat().st_size > 10000
