"""Ownership in the web chat's words: another user's conversation or answer is simply "not found".

The rule itself is the core's (``bot.history``); this module maps its ``None`` to the web chat's error.
"""

from __future__ import annotations

from adapters.webchat.auth import WebUser
from adapters.webchat.texts import both
from bot.errors import NotFound
from bot.history import History
from bot.types import Platform, SessionKey
from storage.models import Conversation, Message


def not_found(key: str = "not_found") -> NotFound:
    return NotFound(*both(key))


async def owned_conversation(history: History, user: WebUser, conversation_id: int) -> Conversation:
    """The user's live conversation ``conversation_id``; ``NotFound`` when it is missing or someone else's."""
    conv = await history.conversation(user.id, Platform.WEB, conversation_id)
    if conv is None:
        raise not_found()
    return conv


async def owned_answer(history: History, user: WebUser, message_id: int) -> Message:
    """An answer in one of the user's conversations, else ``NotFound``."""
    msg = await history.answer(user.id, Platform.WEB, message_id)
    if msg is None:
        raise not_found("no_answer")
    return msg


async def session_key(
    history: History, user: WebUser, conversation: int | str | None, new_thread: str
) -> SessionKey:
    """The key of the conversation a question goes to.

    ``int``: an existing conversation of the user's. ``str``: a thread id the client made for a new chat (its
    follow-ups reuse it before the id is known). ``None``: a new conversation with ``new_thread``.
    """
    if isinstance(conversation, int):
        conv = await owned_conversation(history, user, conversation)
        return SessionKey(Platform.WEB, conv.channel, conv.thread)
    key = SessionKey(Platform.WEB, str(user.id), conversation or new_thread)
    if conversation:
        allowed, _ = await history.by_key(user.id, key)
        if not allowed:
            raise not_found()
    return key


def key_str(conv: Conversation) -> str:
    return SessionKey(conv.platform, conv.channel, conv.thread).as_str()
