"""The built-in jobs over the real core: a rescan brings an edited file into answers without a restart,
the cleanup empties what grows forever."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.app import build_services, close_services
from bot.ingest_job import ingest_paths
from bot.scheduler.jobs import CLEANUP, FOLDER_RESCAN
from bot.types import Incoming, Platform, SessionKey, UserRef
from storage.models import AnswerCacheEntry, JobRun, ProcessedEvent, utcnow
from tests.conftest import core_settings


def question(text: str, thread: str) -> Incoming:
    return Incoming(
        text=text,
        user=UserRef(platform=Platform.CLI, external_id="u"),
        session=SessionKey(platform=Platform.CLI, channel="c", thread=thread),
        lang="en",
    )


async def test_a_changed_file_reaches_answers_after_the_rescan_and_old_rows_are_cleaned(
    tmp_path: Path,
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    page = kb / "ports.md"
    page.write_text("# Gateway ports\n\nThe payments gateway listens on port 7311 for health checks.\n")
    services = await build_services(core_settings(tmp_path / "data", kb, scheduler={"enabled": False}))
    try:
        await ingest_paths(services, [kb])
        answer = await services.engine.ask(question("Which port does the payments gateway listen on?", "1"))
        assert "7311" in answer.text
        page.write_text("# Gateway ports\n\nThe payments gateway listens on port 9464 for health checks.\n")
        assert await services.scheduler.run_now(FOLDER_RESCAN) == "ok"
        answer = await services.engine.ask(question("Which port does the payments gateway listen on?", "2"))
        assert "9464" in answer.text and "7311" not in answer.text

        old = utcnow() - timedelta(days=30)
        async with services.db.session() as s:
            s.add(ProcessedEvent(platform="slack", event_id="old", created_at=old))
            s.add(ProcessedEvent(platform="slack", event_id="new"))
            s.add(AnswerCacheEntry(key="k", value={}, doc_versions={}, expires_at=old))
        assert await services.scheduler.run_now(CLEANUP) == "ok"
        async with services.db.session() as s:
            events = (await s.execute(select(ProcessedEvent.event_id))).scalars().all()
            cache = (await s.execute(select(func.count()).select_from(AnswerCacheEntry))).scalar_one()
            runs = {r.job: r for r in (await s.execute(select(JobRun))).scalars()}
        assert events == ["new"] and cache == 0
        assert runs[CLEANUP].counts["events"] == 1 and runs[CLEANUP].counts["cache"] == 1
        assert runs[FOLDER_RESCAN].status == "ok" and runs[FOLDER_RESCAN].counts["changed"] == 1
    finally:
        await close_services(services)
