"""Answers in flight (``answer_runs``): started, kept alive, finished, and asked about by any replica."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AnswerRun


async def start(session: AsyncSession, *, run_id: str, session_key: str, replica: str, now: float) -> None:
    session.add(
        AnswerRun(id=run_id, session_key=session_key, replica=replica, started_at=now, heartbeat_at=now)
    )


async def beat(session: AsyncSession, *, run_ids: Sequence[str], now: float) -> None:
    if run_ids:
        await session.execute(update(AnswerRun).where(AnswerRun.id.in_(run_ids)).values(heartbeat_at=now))


async def finish(session: AsyncSession, *, run_id: str) -> None:
    await session.execute(delete(AnswerRun).where(AnswerRun.id == run_id))


async def active(session: AsyncSession, *, session_key: str, fresh_since: float) -> bool:
    """Whether some replica is writing an answer for ``session_key`` (heartbeat after ``fresh_since``)."""
    query = select(
        exists().where(AnswerRun.session_key == session_key, AnswerRun.heartbeat_at >= fresh_since)
    )
    return bool((await session.execute(query)).scalar())


async def purge_stale(session: AsyncSession, *, before: float) -> int:
    """Forget runs of replicas that died mid-answer."""
    result = await session.execute(delete(AnswerRun).where(AnswerRun.heartbeat_at < before))
    return int(result.rowcount or 0)
