"""Sessions: a thread is a conversation; its earlier messages are the history."""

from __future__ import annotations

from dataclasses import dataclass

from bot.generation import Turn
from bot.types import Platform, SessionKey, UserRef
from storage.db import Database
from storage.models import Conversation, User
from storage.repositories import conversations, messages, users

# Platforms whose conversations belong to the person who started them (web chat, API callers).
OWNED_PLATFORMS = frozenset({Platform.WEB, Platform.API, Platform.CLI})


@dataclass(frozen=True, slots=True)
class SessionContext:
    user_id: int
    conversation_id: int
    role: str
    language: str | None
    history: list[Turn]


async def resolve_user(db: Database, user: UserRef) -> User:
    async with db.session() as s:
        return await users.get_or_create_user(
            s, platform=user.platform, external_id=user.external_id, display_name=user.display_name
        )


async def open_session(
    db: Database,
    user: UserRef,
    key: SessionKey,
    *,
    history_turns: int,
    title: str | None = None,
    shareable: bool = False,
) -> SessionContext:
    """Find or create the user and the conversation for ``key``, with the last ``history_turns`` turns.

    Web and API conversations are private to their owner; a conversation id that belongs to somebody
    else is never joined (the caller checks ownership before building the key).
    """
    async with db.session() as s:
        row = await users.get_or_create_user(
            s, platform=user.platform, external_id=user.external_id, display_name=user.display_name
        )
        owner = row.id if key.platform in OWNED_PLATFORMS else None
        conv = await conversations.get_or_create_conversation(
            s,
            platform=key.platform,
            channel=key.channel,
            thread=key.thread,
            owner_id=owner,
            title=title,
            shareable=shareable,
        )
        if conv.title is None and title:
            conv.title = title[:255]
        recent = await messages.recent_messages(s, conversation_id=conv.id, limit=history_turns * 2)
        history = [Turn("user" if m.kind == "question" else "assistant", m.text) for m in recent]
        return SessionContext(row.id, conv.id, row.role or "default", row.language, history)


async def conversation_for(db: Database, key: SessionKey) -> Conversation | None:
    async with db.read() as s:
        return await conversations.find_conversation(
            s, platform=key.platform, channel=key.channel, thread=key.thread
        )


async def start_new_session(db: Database, key: SessionKey) -> None:
    """The ``new`` command: the current conversation is archived, the next message starts another."""
    async with db.session() as s:
        conv = await conversations.find_conversation(
            s, platform=key.platform, channel=key.channel, thread=key.thread
        )
        if conv is not None:
            await conversations.archive_conversation(s, conversation_id=conv.id)
