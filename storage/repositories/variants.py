"""Prompt variant states set from the analytics page (stopped / promoted); absent means active."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PromptVariantState, utcnow
from storage.repositories._upsert import insert_for


async def states(session: AsyncSession) -> dict[str, str]:
    rows = (await session.execute(select(PromptVariantState))).scalars()
    return {r.name: r.status for r in rows}


async def set_state(session: AsyncSession, *, name: str, status: str, by: str | None) -> None:
    """Record ``status`` for ``name``; promoting one variant puts any other promoted one back to active."""
    now = utcnow()
    if status == "promoted":
        await session.execute(
            delete(PromptVariantState).where(
                PromptVariantState.status == "promoted", PromptVariantState.name != name
            )
        )
    if status == "active":
        await session.execute(delete(PromptVariantState).where(PromptVariantState.name == name))
        return
    insert = insert_for(session, PromptVariantState).values(
        name=name, status=status, updated_by=by, updated_at=now
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["name"], set_={"status": status, "updated_by": by, "updated_at": now}
        )
    )
