"""Ownership: a web user reaches only their own conversations and answers (others are "not found")."""

from __future__ import annotations

from adapters.webchat.auth import WebUser
from adapters.webchat.texts import both
from bot.errors import NotFound
from bot.sessions import conversation_for
from bot.types import Platform, SessionKey
from storage.db import Database
from storage.models import Conversation, Message
from storage.repositories import conversations, messages


def not_found(key: str = "not_found") -> NotFound:
    return NotFound(*both(key))


def owns(user: WebUser, conv: Conversation | None) -> bool:
    return (
        conv is not None and not conv.deleted and conv.platform == Platform.WEB and conv.owner_id == user.id
    )


async def owned_conversation(db: Database, user: WebUser, conversation_id: int) -> Conversation:
    """The user's live conversation ``conversation_id``; ``NotFound`` when it is missing or someone else's."""
    async with db.session() as s:
        conv = await conversations.get_conversation(s, conversation_id=conversation_id)
    if not owns(user, conv):
        raise not_found()
    assert conv is not None
    return conv


async def owned_answer(db: Database, user: WebUser, message_id: int) -> Message:
    """An answer in one of the user's conversations, else ``NotFound``."""
    async with db.session() as s:
        msg = await messages.get_message(s, message_id=message_id)
        conv = (
            await conversations.get_conversation(s, conversation_id=msg.conversation_id)
            if msg is not None
            else None
        )
    if msg is None or msg.kind != "answer" or not owns(user, conv):
        raise not_found("no_answer")
    return msg


async def session_key(
    db: Database, user: WebUser, conversation: int | str | None, new_thread: str
) -> SessionKey:
    """The key of the conversation a question goes to.

    ``int``: an existing conversation of the user's. ``str``: a thread id the client made for a new chat (its
    follow-ups reuse it before the id is known). ``None``: a new conversation with ``new_thread``.
    """
    if isinstance(conversation, int):
        conv = await owned_conversation(db, user, conversation)
        return SessionKey(Platform.WEB, conv.channel, conv.thread)
    key = SessionKey(Platform.WEB, str(user.id), conversation or new_thread)
    if conversation:
        conv = await conversation_for(db, key)
        if conv is not None and not owns(user, conv):
            raise not_found()
    return key


def key_str(conv: Conversation) -> str:
    return SessionKey(conv.platform, conv.channel, conv.thread).as_str()
