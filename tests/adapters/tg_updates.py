"""Telegram update payloads as the Bot API sends them, and a deadline poll for tests."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

BOT_ID = 123456
BOT_USERNAME = "opora_bot"
_ids = itertools.count(5000)
_msg_ids = itertools.count(100)


async def until(predicate: Callable[[], Any], what: str = "condition", within: float = 15.0) -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def user(uid: int = 42, *, is_bot: bool = False, lang: str = "en") -> dict[str, Any]:
    return {"id": uid, "is_bot": is_bot, "first_name": f"User{uid}", "language_code": lang}


def bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "Opora", "username": BOT_USERNAME}


def message(
    text: str,
    *,
    chat_id: int = 42,
    chat_type: str = "private",
    sender: dict[str, Any] | None = None,
    message_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
    thread_id: int | None = None,
    mention: bool = False,
) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": message_id or next(_msg_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type, **({"is_forum": True} if thread_id else {})},
        "from": sender or user(),
        "text": f"@{BOT_USERNAME} {text}" if mention else text,
    }
    if mention:
        msg["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    elif text.startswith("/"):
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    if reply_to is not None:
        msg["reply_to_message"] = reply_to
    if thread_id is not None:
        msg["message_thread_id"] = thread_id
        msg["is_topic_message"] = True
    return msg


def update(payload: dict[str, Any], kind: str = "message", update_id: int | None = None) -> dict[str, Any]:
    return {"update_id": update_id or next(_ids), kind: payload}


def bot_message(chat_id: int, message_id: int, chat_type: str = "supergroup") -> dict[str, Any]:
    """The bot's own message as it appears in ``reply_to_message``."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": bot_user(),
        "text": "…",
    }


def reaction(chat_id: int, message_id: int, old: list[str], new: list[str], uid: int = 42) -> dict[str, Any]:
    return update(
        {
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "message_id": message_id,
            "user": user(uid),
            "date": int(time.time()),
            "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
            "new_reaction": [{"type": "emoji", "emoji": e} for e in new],
        },
        "message_reaction",
    )


def callback(
    data: str, chat_id: int, message_id: int, uid: int = 42, *, reply_to: int | None = None, lang: str = "en"
) -> dict[str, Any]:
    """A button press on the bot's message ``message_id`` (which replies to ``reply_to``, if given)."""
    chat_type = "private" if chat_id > 0 else "supergroup"
    pressed = bot_message(chat_id, message_id, chat_type)
    if reply_to is not None:
        pressed["reply_to_message"] = bot_message(chat_id, reply_to, chat_type)
    return update(
        {"id": str(next(_ids)), "from": user(uid, lang=lang), "chat_instance": "ci", "data": data,
         "message": pressed},
        "callback_query",
    )  # fmt: skip
