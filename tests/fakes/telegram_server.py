"""A fake Telegram Bot API on 127.0.0.1 (aiohttp), for aiogram pointed at it with ``TelegramAPIServer``.

Answers ``POST /bot<token>/<method>`` with ``{"ok": true, "result": ...}``: getMe, sendMessage,
editMessageText, setMessageReaction, answerCallbackQuery, getUpdates (long polling), deleteWebhook,
setWebhook. Bodies may be form-encoded (aiogram) or JSON. Sent messages are kept per chat so tests read
what a user would see; ``telegram_html_error`` rejects text Telegram itself would refuse to parse.

Scripting: ``fail("sendMessage", status=429, retry_after=1)`` makes the next call of that method fail
without side effects (``times`` for several); ``push_update`` queues an update for ``getUpdates``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from tests.fakes.server import AiohttpFake

JSON_FIELDS = {"reply_markup", "reaction", "allowed_updates", "reply_parameters", "link_preview_options"}
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
MAX_TEXT = 4096


@dataclass
class Failure:
    status: int
    retry_after: int | None = None


@dataclass
class SentMessage:
    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_to: int | None
    thread_id: int | None
    reply_markup: dict[str, Any] | None
    edits: int = 0
    history: list[str] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)  # time.monotonic() of the post and of each edit


class _TelegramHTML(HTMLParser):
    """Checks text the way the Bot API does for ``parse_mode=HTML``: known tags, balanced, entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.error: str | None = None
        self.plain: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f'Unmatched end tag "{tag}"'
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.error = self.error or "Unexpected raw angle bracket"
        self.plain.append(data)

    def handle_entityref(self, name: str) -> None:
        self.plain.append("&")  # one character once parsed

    def handle_charref(self, name: str) -> None:
        self.plain.append("#")


def telegram_html_error(text: str) -> str | None:
    """Why the Bot API would refuse ``text`` as HTML, or ``None``."""
    if "&" in text:
        for m in re.finditer(r"&([^;\s&]*)(;?)", text):
            if not m.group(2) or not re.fullmatch(r"lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+", m.group(1)):
                return f"Can't parse entities: unsupported entity at byte offset {m.start()}"
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.stack:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    if parser.error:
        return f"Bad Request: can't parse entities: {parser.error}"
    if len("".join(parser.plain)) > MAX_TEXT:
        return "Bad Request: message is too long"
    return None


class FakeTelegramServer(AiohttpFake):
    def __init__(self, token: str = "123456:TEST-token", bot_id: int = 123456, username: str = "opora_bot"):
        self.token = token
        self.bot_id = bot_id
        self.username = username
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, deque[Failure]] = defaultdict(deque)
        self.messages: dict[tuple[int, int], SentMessage] = {}
        self.reactions: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # the last getUpdates offset the bot confirmed
        self.latency = 0.0  # seconds before every answer (for benchmarks)
        self._next_id: dict[int, int] = defaultdict(lambda: 1000)
        self._new_update: asyncio.Event | None = None
        self.polling = 0  # getUpdates requests in flight
        self.polls = 0  # getUpdates long polls accepted so far
        self.conflicts = 0  # getUpdates refused because another one was in flight (two bot instances)
        self.url = ""

    # ----- scripting and inspection -----
    def fail(self, method: str, *, status: int, retry_after: int | None = None, times: int = 1) -> None:
        self.failures[method].extend(Failure(status, retry_after) for _ in range(times))

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (pushing one with an old update_id again = a redelivery)."""
        self.updates.append(update)
        if self._new_update is not None:
            self._new_update.set()

    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        return [m for m in self.messages.values() if chat_id is None or m.chat_id == chat_id]

    def count(self, method: str) -> int:
        return sum(1 for name, _ in self.calls if name == method)

    # ----- server -----
    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)

    async def on_start(self) -> None:
        self._new_update = asyncio.Event()

    async def on_close(self) -> None:
        if self._new_update is not None:
            self._new_update.set()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            text = value if isinstance(value, str) else str(value)
            params[key] = json.loads(text) if key in JSON_FIELDS else text
        params.update({k: v for k, v in request.query.items() if k not in params})
        return params

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.failures[method]:
            failure = self.failures[method].popleft()
            extra = {"retry_after": failure.retry_after} if failure.retry_after is not None else None
            text = "Too Many Requests: retry later" if failure.status == 429 else "Internal Server Error"
            return _error(failure.status, text, extra)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = handler(params) if method != "getUpdates" else await self._m_getUpdates(params, request)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    # ----- methods -----
    def _m_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.bot_id, "is_bot": True, "first_name": "Opora", "username": self.username}

    def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _m_setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any] | web.Response:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML" and (problem := telegram_html_error(text)):
            return _error(400, problem)
        if len(text) > MAX_TEXT:
            return _error(400, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        self._next_id[chat_id] += 1
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") or params.get("reply_to_message_id")
        thread = params.get("message_thread_id")
        msg = SentMessage(
            chat_id=chat_id,
            message_id=self._next_id[chat_id],
            text=text,
            parse_mode=params.get("parse_mode"),
            reply_to=int(reply_to) if reply_to else None,
            thread_id=int(thread) if thread else None,
            reply_markup=params.get("reply_markup"),
            history=[text],
            stamps=[time.monotonic()],
        )
        self.messages[(chat_id, msg.message_id)] = msg
        return self._message_json(msg)

    def _m_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | web.Response:
        key = (int(params["chat_id"]), int(params["message_id"]))
        msg = self.messages.get(key)
        if msg is None:
            return _error(400, "Bad Request: message to edit not found")
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML" and (problem := telegram_html_error(text)):
            return _error(400, problem)
        markup = params.get("reply_markup")
        if text == msg.text and markup == msg.reply_markup:
            return _error(400, "Bad Request: message is not modified")
        msg.text, msg.reply_markup, msg.parse_mode = text, markup, params.get("parse_mode")
        msg.edits += 1
        msg.history.append(text)
        msg.stamps.append(time.monotonic())
        return self._message_json(msg)

    def _m_setMessageReaction(self, params: dict[str, Any]) -> bool:
        self.reactions.append(params)
        return True

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        self.callback_answers.append(params)
        return True

    async def _m_getUpdates(
        self, params: dict[str, Any], request: web.Request | None = None
    ) -> list[dict[str, Any]] | web.Response:
        if self.polling:  # Telegram allows one long poll per bot, as it does
            self.conflicts += 1
            return _error(
                409,
                "Conflict: terminated by other getUpdates request;"
                " make sure that only one bot instance is running",
            )
        self.polling += 1
        self.polls += 1
        try:
            return await self._poll_updates(params, request)
        finally:
            self.polling -= 1

    async def _poll_updates(
        self, params: dict[str, Any], request: web.Request | None
    ) -> list[dict[str, Any]]:
        assert self._new_update is not None
        offset = int(params.get("offset") or 0)
        if offset:
            self.confirmed = max(self.confirmed, offset)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            if request is not None and (request.transport is None or request.transport.is_closing()):
                return []  # the client is gone (a killed process): Telegram ends its long poll too
            # Each queued update is handed out once; pushing one with an old update_id again stands for
            # Telegram resending it after a crash before the offset was confirmed.
            ready, self.updates = self.updates[:100], self.updates[100:]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), min(remaining, 0.2))

    def _message_json(self, msg: SentMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": int(time.time()),
            "chat": {"id": msg.chat_id, "type": "private" if msg.chat_id > 0 else "supergroup"},
            "from": self._m_getMe({}),
            "text": msg.text,
        }
        if msg.thread_id:
            out["message_thread_id"] = msg.thread_id
        if msg.reply_markup:
            out["reply_markup"] = msg.reply_markup
        return out


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)
