"""Lookups the messenger adapters need beyond ``bot.channels``: which session an answer lives in (the
"call a human" button, a reply to the bot's message in a Telegram group).

Kept apart from ``bot.channels`` (owned by the channel-common work) so both can change independently.
"""

from __future__ import annotations

from bot.types import SessionKey
from storage.db import Database
from storage.repositories import conversations, messages


async def session_of_answer(db: Database, *, message_id: int) -> SessionKey | None:
    """The session (platform, channel, thread) that answer ``message_id`` belongs to."""
    async with db.session() as s:
        msg = await messages.get_message(s, message_id=message_id)
        if msg is None:
            return None
        conv = await conversations.get_conversation(s, conversation_id=msg.conversation_id)
    if conv is None:
        return None
    return SessionKey(platform=conv.platform, channel=conv.channel, thread=conv.thread)


async def thread_of_ref(db: Database, *, platform: str, platform_ref: str) -> str | None:
    """The thread root of the conversation whose answer was posted as ``platform_ref``."""
    async with db.session() as s:
        msg = await messages.find_by_platform_ref(s, platform=platform, platform_ref=platform_ref)
        if msg is None:
            return None
        conv = await conversations.get_conversation(s, conversation_id=msg.conversation_id)
    return conv.thread if conv is not None else None
