"""Users: one row per platform identity."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import User
from storage.repositories._upsert import insert_for


async def get_or_create_user(
    session: AsyncSession,
    *,
    platform: str,
    external_id: str,
    display_name: str | None = None,
    email: str | None = None,
    is_admin: bool | None = None,
) -> User:
    """The user for a platform identity, created on first sight (safe under concurrent replicas)."""
    stmt = select(User).where(User.platform == platform, User.external_id == external_id)
    user = (await session.execute(stmt)).scalar_one_or_none()
    if user is None:
        insert = insert_for(session, User).values(
            platform=platform,
            external_id=external_id,
            display_name=display_name,
            email=email,
            role="default",
            is_admin=bool(is_admin),
        )
        await session.execute(insert.on_conflict_do_nothing(index_elements=["platform", "external_id"]))
        user = (await session.execute(stmt)).scalar_one()
    changed = False
    if display_name and user.display_name != display_name:
        user.display_name = display_name
        changed = True
    if email and user.email != email:
        user.email = email
        changed = True
    if is_admin is not None and user.is_admin != is_admin:
        user.is_admin = is_admin
        changed = True
    if changed:
        await session.flush()
    return user


async def get_user(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def set_user_role(session: AsyncSession, *, user_id: int, role: str) -> None:
    user = await session.get(User, user_id)
    if user is not None:
        user.role = role
        await session.flush()


async def set_user_language(session: AsyncSession, *, user_id: int, language: str | None) -> None:
    user = await session.get(User, user_id)
    if user is not None:
        user.language = language
        await session.flush()
