"""The web chat in a real browser (Debian chromium + playwright-core) against the real server on 127.0.0.1.

Installs what it needs: ``apt-get install -y chromium`` when missing, ``npm ci`` and the front end build.
Screenshots go to ``tests/artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
WEBCHAT = REPO / "webchat"
SHOTS = REPO / "tests" / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")


def ensure_tools() -> None:
    if not CHROMIUM.exists():
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if shutil.which("npm") is None:
        pytest.fail("npm is required for the browser tests")
    subprocess.run(["bash", str(WEBCHAT / "build.sh")], check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], deadline_s: float = 240.0) -> None:
    """The web routes answer, and the index is built when the server reports readiness."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            if httpx.get(f"{url}/api/v1/web/config", timeout=2).status_code == 200:
                ready = httpx.get(f"{url}/readyz", timeout=2)
                if ready.status_code == 404:  # the sample core: its index is built before it serves
                    return
                if ready.status_code == 200 and ready.json().get("index", {}).get("state") in (
                    "done",
                    "idle",
                ):
                    return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)  # polling with a deadline, not waiting a fixed time
    raise TimeoutError(f"{url} not ready in {deadline_s} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ensure_tools()
    port = free_port()
    data = tmp_path_factory.mktemp("webchat-browser")
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.webchat.server", "--port", str(port), "--data", str(data)],
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


def test_web_chat_in_chromium(server: str) -> None:
    result = subprocess.run(
        ["node", str(Path(__file__).with_name("browser.mjs"))],
        env={**os.environ, "OPORA_URL": server, "SHOTS_DIR": str(SHOTS)},
        capture_output=True,
        text=True,
        timeout=400,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    assert facts["en_sources"] > 0 and facts["vote_persisted"] and facts["bob_status"] == 404
    for name in ("01-empty-suggestions", "02-answer-code-sources", "03-history", "04-dark-theme", "05-phone"):
        assert (SHOTS / f"{name}.png").stat().st_size > 5000

    # the same isolation, checked at the API by a second user
    with httpx.Client(base_url=server) as bob:
        bob.post("/api/v1/web/session", json={"name": "Mallory"}).raise_for_status()
        conv = facts["alice_conversation"]
        assert bob.get("/api/v1/web/conversations").json() == []
        assert bob.get(f"/api/v1/web/conversations/{conv}/messages").status_code == 404
        assert bob.patch(f"/api/v1/web/conversations/{conv}", json={"title": "x"}).status_code == 404
        assert bob.delete(f"/api/v1/web/conversations/{conv}").status_code == 404
