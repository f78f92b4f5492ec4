"""Fault: the process is killed (SIGKILL) in the middle of ``opora ingest``; a re-run completes the index."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import copy_sample_kb

DOCS = (
    "werf/en/reference/debug_env_vars.md",
    "werf/ru/reference/debug_env_vars.md",
    "helm/en/helm/helm_rollback.md",
    "helm/en/intro/quickstart.md",
    # two long pages: more chunks than one embedding group (64), so the index is written in several steps
    "helm/en/topics/charts.md",
    "helm/en/intro/using_helm.md",
)


def documents(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM documents").fetchone()[0])
    except sqlite3.Error:  # not migrated yet
        return 0


def ingest(kb: Path, data: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPORA_")}
    env.update(OPORA_DATA_DIR=str(data), OPORA_KB__INGEST_ON_START="false")
    cmd = [sys.executable, "-m", "bot.cli", "ingest", str(kb)]
    root = Path(__file__).resolve().parents[2]
    return subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_then_rerun(kb: Path, data: Path) -> tuple[bool, str | None]:
    """SIGKILL the ingest once its first document is stored, then run it again to the end."""
    proc = ingest(kb, data)
    deadline = time.monotonic() + 600
    while documents(data / "opora.db") < 1 and proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            return False, "ingest made no progress"
        time.sleep(0.05)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if not killed:  # it ended on its own: finished already, or failed (say how)
        err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
        return False, None if proc.returncode == 0 else f"exit {proc.returncode}: {err}"
    rerun = ingest(kb, data)
    _, err = rerun.communicate(timeout=900)
    return killed, None if rerun.returncode == 0 else err.decode(errors="replace")[-2000:]


@pytest.mark.slow
async def test_process_killed_during_ingest(tmp_path):
    """Process killed during ingest (SIGKILL after the first document) → a re-run finishes: every
    document indexed once, none duplicated, and the bot answers from them."""
    kb = copy_sample_kb(tmp_path / "kb", DOCS)
    data = tmp_path / "data"
    killed, err = await asyncio.to_thread(kill_then_rerun, kb, data)
    assert err is None, err
    assert killed, "ingest finished before it could be killed (the KB is too small for this machine)"
    assert documents(data / "opora.db") == len(DOCS)

    from bot.app import close_services
    from tests.conftest import build_core

    services = await build_core(data, kb, ingest=False)
    try:
        store = services.extras["store"]
        points = await store.count()
        doc_ids = {h.chunk.doc_id for h in await store.sparse_query(_all_terms(), limit=10_000)}
        assert points > 0 and len(doc_ids) == len(DOCS)  # no orphan points of a half-written page
        services.index.finish()
        from bot.types import Incoming, Platform, SessionKey, UserRef

        answer = await services.engine.ask(
            Incoming(
                text="How do I roll back a helm release?",
                user=UserRef(Platform.API, "u"),
                session=SessionKey(Platform.API, "u", "t"),
                lang="en",
            )
        )
        assert "rollback" in answer.text.lower() and answer.sources
    finally:
        await close_services(services)


def _all_terms():  # type: ignore[no-untyped-def]
    from rag.sparse import query_vector

    return query_vector("helm werf the и release")
