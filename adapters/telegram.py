"""Telegram channel (aiogram 3): webhook behind FastAPI or long polling, the same handlers for both.

Webhook mode: Telegram POSTs updates to ``settings.telegram.webhook_path``; the request must carry the
``X-Telegram-Bot-Api-Secret-Token`` header we registered, else 401 and nothing happens. The update is
handled in the background so Telegram gets its 200 at once; a retried delivery is dropped by update_id.
Polling mode: the webhook is removed and aiogram long-polls ``getUpdates`` — in the leader replica only
(``bot.leader``), since Telegram allows one consumer per bot; webhook mode works on every replica.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.types import Update
from fastapi import APIRouter, Request, Response
from pydantic import ValidationError

from adapters.channels import with_retry
from adapters.formatting import TELEGRAM_LIMIT
from adapters.telegram_handlers import PLATFORM, TelegramContext, build_router
from adapters.telegram_sink import call_api
from bot.config import TelegramSettings
from bot.services import Services
from bot.types import SessionKey

log = structlog.get_logger(__name__)
ALLOWED_UPDATES = ["message", "callback_query", "message_reaction"]


class TelegramChannel:
    """One bot account: its aiogram ``Bot`` and ``Dispatcher``, and the webhook route when in webhook mode."""

    name = "telegram"

    def __init__(
        self, services: Services, settings: TelegramSettings, *, max_len: int = TELEGRAM_LIMIT
    ) -> None:
        assert settings.bot_token is not None
        if settings.mode == "webhook" and not settings.webhook_secret:
            raise ValueError("telegram.webhook_secret is required in webhook mode")
        self.services = services
        self.settings = settings
        self.max_len = max_len
        api = TelegramAPIServer.from_base(settings.api_url) if settings.api_url else PRODUCTION
        self.bot = Bot(settings.bot_token.get_secret_value(), session=AiohttpSession(api=api))
        self.dp = Dispatcher()
        self.router: APIRouter | None = self._webhook_router() if settings.mode == "webhook" else None
        self.ready = asyncio.Event()
        self._polling: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def _notify(self, key: SessionKey, text: str) -> None:
        reply_to = int(key.thread) if key.thread.isdigit() and key.thread != key.channel else None
        await call_api(
            "sendMessage", lambda: self.bot.send_message(int(key.channel), text, reply_to_message_id=reply_to)
        )

    async def start(self) -> None:
        me = await with_retry("getMe", lambda: call_api("getMe", self.bot.me))
        ctx = TelegramContext(
            self.services,
            me.id,
            me.username or "",
            self.settings.edit_interval,
            self.max_len,
            per_minute=self.settings.questions_per_minute,
            allowed_users=tuple(self.settings.allowed_users),
            allowed_chats=tuple(self.settings.allowed_chats),
            user_emails=dict(self.settings.user_emails),
        )
        self.dp.include_router(build_router(ctx))
        if self.services.escalation is not None:  # "Update: I paged …", ticket links, in the asker's thread
            self.services.escalation.register_notifier(PLATFORM, self._notify)
        if self.settings.mode == "polling":
            # getUpdates allows one consumer per bot: of several replicas only the leader polls
            self.services.leader.lead("telegram-polling", self._poll)
        elif self.settings.webhook_url:
            secret = self.settings.webhook_secret.get_secret_value()  # type: ignore[union-attr]
            await call_api(
                "setWebhook",
                lambda: self.bot.set_webhook(
                    self.settings.webhook_url,  # type: ignore[arg-type]
                    secret_token=secret,
                    allowed_updates=ALLOWED_UPDATES,
                ),
            )
        self.ready.set()
        log.info("telegram.started", mode=self.settings.mode, bot=me.username)

    async def _poll(self) -> None:
        """Long-poll until cancelled (this replica stops leading) or stopped."""
        await call_api("deleteWebhook", lambda: self.bot.delete_webhook(drop_pending_updates=False))
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                allowed_updates=ALLOWED_UPDATES,
                polling_timeout=self.settings.polling_timeout,
            ),
            name="telegram-polling",
        )
        try:
            await asyncio.shield(self._polling)
        except asyncio.CancelledError:
            await self._stop_polling()
            raise

    async def _stop_polling(self) -> None:
        polling, self._polling = self._polling, None
        if polling is None or polling.done():
            return
        try:
            await self.dp.stop_polling()
        except RuntimeError:  # polling had not started yet
            polling.cancel()
        await asyncio.gather(polling, return_exceptions=True)

    async def stop(self) -> None:
        await self._stop_polling()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bot.session.close()

    async def post_text(self, channel: str, text: str) -> str:
        """Post a plain message to chat ``channel`` (a numeric id or ``@name``); returns its message id."""
        chat: int | str = int(channel) if channel.lstrip("-").isdigit() else channel
        message = await self.bot.send_message(chat_id=chat, text=text)
        return str(message.message_id)

    async def idle(self) -> None:
        """Wait until every update taken by webhook has been handled (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def saturated(self) -> bool:
        """As many updates in hand as the admission cap and its line hold (plus room for votes)."""
        return len(self._tasks) >= self.services.admission.capacity + 32

    def feed(self, payload: dict[str, Any]) -> None:
        """Handle one webhook update in the background."""
        update = Update.model_validate(payload, context={"bot": self.bot})
        task = asyncio.create_task(self._feed(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _feed(self, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:
            log.exception("telegram.update_failed", update_id=update.update_id)

    def check_secret(self, header: str | None) -> bool:
        expected = self.settings.webhook_secret
        if expected is None or header is None:
            return False
        return hmac.compare_digest(header.encode(), expected.get_secret_value().encode())

    def _webhook_router(self) -> APIRouter:
        router = APIRouter(tags=["telegram"])

        @router.post(self.settings.webhook_path, include_in_schema=False)
        async def telegram_webhook(request: Request) -> Response:
            if not self.check_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
                log.warning("telegram.webhook_rejected", reason="bad secret token")
                return Response(status_code=401)
            if not self.ready.is_set():
                return Response(status_code=503)  # Telegram retries later
            if self.saturated:  # bounded: Telegram redelivers the update later, nothing is claimed yet
                log.warning("telegram.webhook_saturated", tasks=len(self._tasks))
                return Response(status_code=503)
            try:
                payload = json.loads(await request.body())
                if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                    raise ValueError("not an update: no integer update_id")
                self.feed(payload)
            except (ValueError, ValidationError) as exc:  # JSONDecodeError and bad UTF-8 are ValueErrors
                log.warning("telegram.webhook_bad_update", error=type(exc).__name__)
                return Response(status_code=400)
            return Response(status_code=200)

        return router


def create(services: Services) -> TelegramChannel | None:
    """The Telegram channel, or ``None`` when no bot token is configured."""
    settings = services.settings.telegram
    return TelegramChannel(services, settings) if settings.enabled else None
