"""A user's conversations: list, read, rename, delete, and the questions many people ask.

The web chat shows them; the analytics dashboard will read the same records. Ownership is decided here: a
user reaches only the live conversations they own on their platform, and only the answers in those. Anything
else comes back as ``None``, and the adapter says "not found" in its own words, never "forbidden", so ids
of other people's conversations reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sessions import conversation_for
from bot.types import SessionKey
from storage.db import Database
from storage.models import Conversation, Feedback, Message
from storage.repositories import conversations, feedback, messages

MAX_TITLE = 200
MAX_LIST = 500


@dataclass(slots=True)
class Entry:
    """One message of a transcript, with the viewer's vote on it (answers only)."""

    message: Message
    vote: Feedback | None


def owns(owner_id: int, platform: str, conv: Conversation | None) -> bool:
    return conv is not None and not conv.deleted and conv.platform == platform and conv.owner_id == owner_id


def clean_title(title: str) -> str | None:
    """A title with its whitespace collapsed, or ``None`` when it is empty or longer than ``MAX_TITLE``."""
    title = " ".join(title.split())
    return title if 0 < len(title) <= MAX_TITLE else None


class History:
    """Conversation history over the database (stateless; cheap to create)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def conversation(self, owner_id: int, platform: str, conversation_id: int) -> Conversation | None:
        """The owner's live conversation ``conversation_id`` on ``platform``, else ``None``."""
        async with self.db.session() as s:
            conv = await conversations.get_conversation(s, conversation_id=conversation_id)
        return conv if owns(owner_id, platform, conv) else None

    async def by_key(self, owner_id: int, key: SessionKey) -> tuple[bool, Conversation | None]:
        """Whether ``owner_id`` may write to ``key`` (it is new or theirs), and its conversation if any."""
        conv = await conversation_for(self.db, key)
        return conv is None or owns(owner_id, key.platform, conv), conv

    async def answer(self, owner_id: int, platform: str, message_id: int) -> Message | None:
        """An answer in one of the owner's conversations, else ``None``."""
        async with self.db.session() as s:
            msg = await messages.get_message(s, message_id=message_id)
            if msg is None or msg.kind != "answer":
                return None
            conv = await conversations.get_conversation(s, conversation_id=msg.conversation_id)
        return msg if owns(owner_id, platform, conv) else None

    async def list(
        self, owner_id: int, platform: str, *, search: str | None = None, limit: int = 100
    ) -> list[Conversation]:
        """The owner's live conversations on ``platform``, newest first; ``search`` matches titles and
        questions."""
        async with self.db.session() as s:
            rows = await conversations.list_conversations(
                s,
                owner_id=owner_id,
                search=(search or "").strip() or None,
                limit=max(1, min(limit, MAX_LIST)),
            )
        return [c for c in rows if c.platform == platform]

    async def rename(self, conv: Conversation, title: str) -> None:
        async with self.db.session() as s:
            await conversations.rename_conversation(s, conversation_id=conv.id, title=title)
        conv.title = title

    async def delete(self, conv: Conversation) -> None:
        """Hide the conversation from its owner; its answers stay for analytics."""
        async with self.db.session() as s:
            await conversations.delete_conversation(s, conversation_id=conv.id)

    async def transcript(self, conv: Conversation, viewer_id: int) -> list[Entry]:
        """The conversation's questions and answers in order, each answer with the viewer's vote."""
        async with self.db.session() as s:
            rows = await messages.conversation_messages(s, conversation_id=conv.id)
            votes = await feedback.votes_for_messages(
                s, message_ids=[m.id for m in rows if m.kind == "answer"], user_id=viewer_id
            )
        return [Entry(m, votes.get(m.id)) for m in rows]

    async def popular(self, *, days: int, min_people: int, limit: int) -> list[str]:
        """Questions asked by at least ``min_people`` distinct people in the last ``days`` days.

        Only questions asked where others could see them count (web chat, public channels: conversations
        marked ``shareable``), never DMs, private channels or API calls; one person asking twice is one.
        """
        async with self.db.session() as s:
            rows = await messages.popular_questions(s, days=days, limit=limit * 3)
        return [text for text, people in rows if people >= max(1, min_people)][:limit]
