"""The admin section in a real browser (Debian chromium + playwright-core) on a month of seeded data.

Screenshots of the dashboard, the gaps list and the A/B page go to ``docs/screenshots/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


def test_admin_section_in_chromium(server: str) -> None:
    result = subprocess.run(
        ["node", str(Path(__file__).with_name("admin_browser.mjs"))],
        env={**os.environ, "OPORA_URL": server, "SHOTS_DIR": str(SHOTS)},
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["bob_api"] == 403 and facts["bob_link"] == 0
    assert facts["chunk_loaded"] and not facts["chunk_before_admin"]
    assert int(facts["telegram_questions"]) < int(facts["questions"])
    assert int(facts["week_questions"]) < int(facts["questions"])
    assert facts["gaps"] >= 3 and facts["stored_status"] == "stopped"
    assert facts["phone_overflow"] <= 1
    for name in ("analytics-dashboard", "analytics-gaps", "analytics-ab", "analytics-phone-ru"):
        assert (SHOTS / f"{name}.png").stat().st_size > 10000
