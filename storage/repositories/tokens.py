"""API tokens: stored by hash, looked up by hash, revoked by name or id."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiToken, utcnow


async def add_token(
    session: AsyncSession,
    *,
    name: str,
    token_hash: str,
    prefix: str,
    scopes: list[str],
    rate_per_minute: int | None = None,
) -> ApiToken:
    row = ApiToken(
        name=name,
        token_hash=token_hash,
        prefix=prefix,
        scopes=scopes,
        rate_per_minute=rate_per_minute,
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def live_token_named(session: AsyncSession, *, name: str) -> ApiToken | None:
    stmt = select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def token_by_hash(session: AsyncSession, *, token_hash: str) -> ApiToken | None:
    """The live (not revoked) token with ``token_hash``, else ``None``."""
    stmt = select(ApiToken).where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None))
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_tokens(session: AsyncSession, *, include_revoked: bool = False) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    return list((await session.execute(stmt)).scalars())


async def revoke_token(session: AsyncSession, *, name_or_id: str) -> list[ApiToken]:
    """Revoke the live token named ``name_or_id`` (or with that id); the revoked rows are returned."""
    match = ApiToken.name == name_or_id
    if name_or_id.isdigit():
        match = or_(match, ApiToken.id == int(name_or_id))
    rows = list(
        (await session.execute(select(ApiToken).where(match, ApiToken.revoked_at.is_(None)))).scalars()
    )
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    await session.flush()
    return rows


async def touch_token(session: AsyncSession, *, token_id: int, every: timedelta) -> None:
    """Record use, at most once per ``every`` (a write per request would be wasted work)."""
    now: datetime = utcnow()
    await session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - every),
        )
        .values(last_used_at=now)
    )
