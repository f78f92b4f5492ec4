"""One Slack thread as the core's renderer sees it: Block Kit payloads, posts, edits, reactions, lookups.

Slack SDK errors are mapped to ``PlatformError`` here. The Web API client is built with no retry
handlers of its own: retries belong to ``adapters.rendering`` (Retry-After honoured, no blind re-posts: every
post carries a nonce in its message metadata, and a post that may have landed is looked up by it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.channels import Capabilities, Draft, PlatformError
from adapters.formatting import SLACK_SECTION_LIMIT, slack_sections
from bot.texts import t

T = TypeVar("T")
SECTIONS_PER_MESSAGE = 10  # Block Kit allows 50 blocks; 10 sections of 3000 characters keeps it readable
NONCE_EVENT = "opora_post"
ACTION_UP, ACTION_DOWN, ACTION_HUMAN = "opora_vote_up", "opora_vote_down", "opora_human"
REACTIONS = {"eyes": "eyes"}


def capabilities(edit_interval: float) -> Capabilities:
    return Capabilities(
        can_edit=True,
        can_react=True,
        max_len=SLACK_SECTION_LIMIT * SECTIONS_PER_MESSAGE,
        dialect="slack",
        min_edit_interval=edit_interval,
        ack="placeholder",
        can_lookup=True,
        buttons=True,
    )


async def call(op: str, request: Callable[[], Awaitable[T]]) -> T:
    """Run one Web API call, mapping SDK and transport errors to ``PlatformError``."""
    try:
        return await request()
    except SlackApiError as exc:
        status = exc.response.status_code
        after = (exc.response.headers or {}).get("Retry-After") or (exc.response.headers or {}).get(
            "retry-after"
        )
        raise PlatformError(
            op,
            status,
            retry_after=float(after) if after else None,
            retryable=status == 429 or status >= 500,
            maybe_delivered=status >= 500,
            detail=str(data.get("error", "")) if isinstance(data := exc.response.data, dict) else "",
        ) from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise PlatformError(op, None, maybe_delivered=True, detail=type(exc).__name__) from exc


def blocks(draft: Draft) -> list[dict[str, Any]]:
    """Block Kit messages for ``draft``: sections of mrkdwn, then the feedback buttons on the last one."""
    sections = slack_sections(draft)
    if not draft.final:
        sections = sections[:1]
    messages: list[dict[str, Any]] = []
    for start in range(0, len(sections), SECTIONS_PER_MESSAGE):
        chunk = sections[start : start + SECTIONS_PER_MESSAGE]
        body = [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in chunk]
        messages.append({"text": chunk[0][:300], "blocks": body})
    if draft.final and (draft.controls or draft.offer_human) and draft.message_id is not None:
        messages[-1]["blocks"].append(controls(draft.message_id, draft.lang, human_only=not draft.controls))
    return messages


def controls(message_id: int, lang: Literal["ru", "en"], *, human_only: bool = False) -> dict[str, Any]:
    """The buttons under an answer (👍, 👎, call a human), or only "call a human" (the offer after a 👎)."""

    def button(action: str, key: str) -> dict[str, Any]:
        text = {"type": "plain_text", "text": t(key, lang), "emoji": True}
        return {"type": "button", "action_id": action, "value": str(message_id), "text": text}

    votes = [] if human_only else [button(ACTION_UP, "button_up"), button(ACTION_DOWN, "button_down")]
    return {
        "type": "actions",
        "block_id": "opora",
        "elements": [*votes, button(ACTION_HUMAN, "button_human")],
    }


def ref(channel: str, ts: str) -> str:
    """The platform ref of a Slack message (answers are linked to it, reactions point at it)."""
    return f"{channel}:{ts}"


@dataclass(slots=True)
class SlackSink:
    """A thread (``thread_ts``) or, for a DM without threads, the DM itself (``thread_ts`` None)."""

    client: AsyncWebClient
    channel: str
    thread_ts: str | None
    question_ts: str
    capabilities: Capabilities

    def render(self, draft: Draft) -> list[dict[str, Any]]:
        return blocks(draft)

    async def react(self, name: Literal["eyes"]) -> None:
        try:
            await call(
                "react",
                lambda: self.client.reactions_add(
                    channel=self.channel, timestamp=self.question_ts, name=REACTIONS[name]
                ),
            )
        except PlatformError as exc:
            if "already_reacted" not in str(exc):
                raise

    async def post(self, payload: dict[str, Any], *, nonce: str) -> str:
        metadata = {"event_type": NONCE_EVENT, "event_payload": {"nonce": nonce}}
        response = await call(
            "post",
            lambda: self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                metadata=metadata,
                unfurl_links=False,
                **payload,
            ),
        )
        return ref(self.channel, str(response["ts"]))

    async def edit(self, platform_ref: str, payload: dict[str, Any]) -> None:
        channel, ts = platform_ref.split(":", 1)
        await call("edit", lambda: self.client.chat_update(channel=channel, ts=ts, **payload))

    async def find_post(self, nonce: str) -> str | None:
        if self.thread_ts:
            response = await call(
                "lookup",
                lambda: self.client.conversations_replies(
                    channel=self.channel, ts=self.thread_ts, include_all_metadata=True, limit=200
                ),
            )
        else:
            response = await call(
                "lookup",
                lambda: self.client.conversations_history(
                    channel=self.channel, oldest=self.question_ts, include_all_metadata=True, limit=200
                ),
            )
        for message in response.get("messages", []):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("nonce") == nonce:
                return ref(self.channel, str(message["ts"]))
        return None
