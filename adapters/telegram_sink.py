"""One Telegram thread as ``adapters.channels`` sees it: post, edit and react through aiogram's Bot.

aiogram raises its own errors and never retries; they are mapped here to ``PlatformError`` so the common
renderer retries 429 (honouring ``retry_after``) and 5xx. The Bot API cannot look a message up, so a post
whose outcome is unknown (the connection broke after sending) is not retried: one lost message is better
than two answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import structlog
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReactionTypeEmoji,
    ReplyParameters,
)

from adapters.channels import Capabilities, Draft, PlatformError
from adapters.formatting import TELEGRAM_LIMIT, telegram_parts
from bot.errors import FeatureNotSupported
from bot.texts import t
from bot.types import Lang

log = structlog.get_logger(__name__)
T = TypeVar("T")
ACK_EMOJI = {"eyes": "👀"}


@dataclass(frozen=True, slots=True)
class TelegramPayload:
    html: str
    markup: InlineKeyboardMarkup | None = None


def ref_of(chat_id: int, message_id: int) -> str:
    """The platform ref of a Telegram message: chat and message id (ids are per chat)."""
    return f"{chat_id}:{message_id}"


def vote_data(message_id: int, value: Literal[-1, 1]) -> str:
    return f"v:{message_id}:{value}"


def human_data(message_id: int) -> str:
    return f"h:{message_id}"


def feedback_keyboard(message_id: int, lang: Lang, *, human_only: bool = False) -> InlineKeyboardMarkup:
    """👍/👎 and "call a human" under an answer (only "call a human" under the offer after a 👎); the
    callback data carries the stored answer's id."""
    human = [InlineKeyboardButton(text=t("button_human", lang), callback_data=human_data(message_id))]
    if human_only:
        return InlineKeyboardMarkup(inline_keyboard=[human])
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=t("button_up", lang), callback_data=vote_data(message_id, 1)),
                InlineKeyboardButton(text=t("button_down", lang), callback_data=vote_data(message_id, -1)),
            ],
            human,
        ]
    )


async def call_api(op: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` with aiogram's errors mapped to ``PlatformError`` (what the retry policy reads)."""
    try:
        return await call()
    except TelegramRetryAfter as exc:
        raise PlatformError(op, 429, retry_after=float(exc.retry_after)) from exc
    except TelegramServerError as exc:  # the Bot API answered 5xx: it did not act on the request
        raise PlatformError(op, 500, detail=exc.message) from exc
    except TelegramNetworkError as exc:  # sent or not: unknown
        raise PlatformError(op, None, maybe_delivered=op == "post", detail=type(exc).__name__) from exc
    except TelegramBadRequest as exc:
        raise PlatformError(op, 400, detail=exc.message) from exc
    except TelegramAPIError as exc:
        raise PlatformError(op, 400, retryable=False, detail=exc.message) from exc


class TelegramSink:
    """Posts into one chat (and forum topic), replying to the question."""

    def __init__(
        self,
        bot: Bot,
        *,
        chat_id: int,
        reply_to: int | None,
        thread_id: int | None = None,
        edit_interval: float = 1.0,
        max_len: int = TELEGRAM_LIMIT,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.reply_to = reply_to
        self.thread_id = thread_id
        self.capabilities = Capabilities(
            can_edit=True,
            can_react=True,
            max_len=max_len,
            dialect="telegram",
            min_edit_interval=edit_interval,
            ack="placeholder",
            buttons=True,
        )
        self.api_calls = 0

    def render(self, draft: Draft) -> Sequence[Any]:
        parts = telegram_parts(draft, self.capabilities.max_len)
        if not draft.final:
            return [TelegramPayload(parts[0])]  # while streaming, the first message shows what fits
        markup = None
        if (draft.controls or draft.offer_human) and draft.message_id:
            markup = feedback_keyboard(draft.message_id, draft.lang, human_only=not draft.controls)
        return [TelegramPayload(p, markup if i == len(parts) - 1 else None) for i, p in enumerate(parts)]

    async def react(self, name: Literal["eyes"]) -> None:
        if self.reply_to is None:
            raise FeatureNotSupported("There is no message to react to.", "Не на что поставить реакцию.")
        self.api_calls += 1
        await call_api(
            "react",
            lambda: self.bot.set_message_reaction(
                chat_id=self.chat_id,
                message_id=self.reply_to,  # type: ignore[arg-type]
                reaction=[ReactionTypeEmoji(emoji=ACK_EMOJI[name])],
            ),
        )

    async def post(self, payload: TelegramPayload, *, nonce: str) -> str:
        self.api_calls += 1
        reply = (
            ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)
            if self.reply_to
            else None
        )
        sent = await call_api(
            "post",
            lambda: self.bot.send_message(
                chat_id=self.chat_id,
                text=payload.html,
                parse_mode="HTML",
                message_thread_id=self.thread_id,
                reply_parameters=reply,
                reply_markup=payload.markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
        )
        return ref_of(self.chat_id, sent.message_id)

    async def edit(self, ref: str, payload: TelegramPayload) -> None:
        message_id = int(ref.rsplit(":", 1)[1])
        self.api_calls += 1
        try:
            await call_api(
                "edit",
                lambda: self.bot.edit_message_text(
                    chat_id=self.chat_id,
                    message_id=message_id,
                    text=payload.html,
                    parse_mode="HTML",
                    reply_markup=payload.markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                ),
            )
        except PlatformError as exc:
            if "message is not modified" in str(exc):  # a retried edit that had landed: nothing to do
                return
            raise

    async def find_post(self, nonce: str) -> str | None:
        raise FeatureNotSupported(
            "The Telegram Bot API cannot look up a sent message.",
            "Telegram Bot API не умеет искать отправленные сообщения.",
        )
