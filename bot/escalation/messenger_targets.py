"""Messenger paging targets: a post in a Slack / Telegram / Mattermost channel (or a user's DM).

The page mentions the person on call, links the thread and carries Acknowledge / Resolve buttons; the
messenger adapters route those presses (and ✅ / 👀 reactions on the page, ``bot.escalation.reactions``)
to the lifecycle. Each speaks the messenger's HTTP API with the bot token from that messenger's settings.
A posted page's ``result`` keeps ``platform_ref``, the message's id in the form the adapter uses for
``messages.platform_ref`` (Slack ``channel:ts``, Telegram ``chat_id:message_id``, Mattermost the post
id), so a reaction on the page finds its escalation.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from bot.escalation.settings import TargetSettings
from bot.escalation.targets import REPAGE, TRIGGER, SendResult, page_text

ACK_ACTION = "opora_esc_ack"  # button ids / callback prefixes shared with the adapters
RESOLVE_ACTION = "opora_esc_resolve"
_PERMANENT_SLACK = frozenset({"invalid_auth", "not_authed", "channel_not_found", "account_inactive"})


def _need(value: Any, what: str, name: str) -> Any:
    if not value:
        raise ValueError(f"escalation target {name}: {what} is not configured")
    return value


class SlackTarget:
    kind = "slack"

    def __init__(
        self,
        name: str,
        settings: TargetSettings,
        client: httpx.AsyncClient,
        *,
        token: SecretStr | None,
        api_url: str | None,
    ) -> None:
        self.name, self.settings, self.client = name, settings, client
        self.token = _need(token, "slack.bot_token", name)
        self.api_url = (api_url or "https://slack.com/api/").rstrip("/") + "/"
        _need(settings.channel, "channel", name)

    def handles(self, action: str) -> bool:
        return action in (TRIGGER, REPAGE)

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        mention = f"<@{page['ids']['slack']}>" if page.get("ids", {}).get("slack") else page.get("person")
        text = page_text({**page, "mention": mention, "action": action})
        value = str(page["escalation_id"])
        blocks = [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACK_ACTION,
                        "value": value,
                        "style": "primary",
                        "text": {"type": "plain_text", "text": "Acknowledge"},
                    },
                    {
                        "type": "button",
                        "action_id": RESOLVE_ACTION,
                        "value": value,
                        "text": {"type": "plain_text", "text": "Resolve"},
                    },
                ],
            },
        ]
        try:
            r = await self.client.post(
                self.api_url + "chat.postMessage",
                headers={"Authorization": f"Bearer {self.token.get_secret_value()}"},
                json={"channel": self.settings.channel, "text": text, "blocks": blocks},
                timeout=self.settings.timeout,
            )
        except httpx.HTTPError as exc:
            return SendResult(False, retry=True, detail=type(exc).__name__)
        if r.status_code != 200:
            return SendResult(
                False, retry=r.status_code == 429 or r.status_code >= 500, detail=f"HTTP {r.status_code}"
            )
        body = r.json()
        if not body.get("ok"):
            error = str(body.get("error"))
            return SendResult(False, retry=error not in _PERMANENT_SLACK, detail=error)
        channel, ts = body.get("channel"), body.get("ts")
        ref = f"{channel}:{ts}"
        return SendResult(True, detail="ok", result={"channel": channel, "ts": ts, "platform_ref": ref})


class TelegramTarget:
    kind = "telegram"

    def __init__(
        self,
        name: str,
        settings: TargetSettings,
        client: httpx.AsyncClient,
        *,
        token: SecretStr | None,
        api_url: str | None,
    ) -> None:
        self.name, self.settings, self.client = name, settings, client
        self.token = _need(token, "telegram.bot_token", name)
        self.api_url = (api_url or "https://api.telegram.org").rstrip("/")
        _need(settings.channel, "channel", name)

    def handles(self, action: str) -> bool:
        return action in (TRIGGER, REPAGE)

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        username = page.get("ids", {}).get("telegram")
        mention = f"@{username.lstrip('@')}" if username else page.get("person")
        text = page_text({**page, "mention": mention, "action": action})
        eid = page["escalation_id"]
        markup = {
            "inline_keyboard": [
                [
                    {"text": "Acknowledge", "callback_data": f"{ACK_ACTION}:{eid}"},
                    {"text": "Resolve", "callback_data": f"{RESOLVE_ACTION}:{eid}"},
                ]
            ]
        }
        url = f"{self.api_url}/bot{self.token.get_secret_value()}/sendMessage"
        try:
            r = await self.client.post(
                url,
                json={"chat_id": self.settings.channel, "text": text, "reply_markup": markup},
                timeout=self.settings.timeout,
            )
        except httpx.HTTPError as exc:
            return SendResult(False, retry=True, detail=type(exc).__name__)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
        if r.status_code == 200 and body.get("ok"):
            msg = body.get("result", {})
            # the numeric chat id, also when the channel is configured as @username (reactions carry it)
            chat_id = (msg.get("chat") or {}).get("id", self.settings.channel)
            ref = f"{chat_id}:{msg.get('message_id')}"
            return SendResult(
                True,
                detail="ok",
                result={"chat_id": chat_id, "message_id": msg.get("message_id"), "platform_ref": ref},
            )
        return SendResult(
            False, retry=r.status_code == 429 or r.status_code >= 500, detail=f"HTTP {r.status_code}"
        )


class MattermostTarget:
    kind = "mattermost"

    def __init__(
        self,
        name: str,
        settings: TargetSettings,
        client: httpx.AsyncClient,
        *,
        url: str | None,
        token: SecretStr | None,
        action_url: str | None,
        action_token: SecretStr | None = None,
    ) -> None:
        self.name, self.settings, self.client = name, settings, client
        self.action_token = action_token.get_secret_value() if action_token else None
        self.url = str(_need(url, "mattermost.url", name)).rstrip("/")
        self.token = _need(token, "mattermost.token", name)
        self.action_url = action_url
        _need(settings.channel, "channel", name)

    def handles(self, action: str) -> bool:
        return action in (TRIGGER, REPAGE)

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        username = page.get("ids", {}).get("mattermost")
        mention = f"@{username.lstrip('@')}" if username else page.get("person")
        text = page_text({**page, "mention": mention, "action": action})
        props: dict[str, Any] = {}
        if self.action_url:
            eid = page["escalation_id"]
            props["attachments"] = [
                {
                    "actions": [
                        {
                            "id": "ack",
                            "name": "Acknowledge",
                            "integration": {
                                "url": self.action_url,
                                "context": {
                                    "action": ACK_ACTION,
                                    "escalation_id": eid,
                                    "token": self.action_token,
                                },
                            },
                        },
                        {
                            "id": "resolve",
                            "name": "Resolve",
                            "integration": {
                                "url": self.action_url,
                                "context": {
                                    "action": RESOLVE_ACTION,
                                    "escalation_id": eid,
                                    "token": self.action_token,
                                },
                            },
                        },
                    ]
                }
            ]
        try:
            r = await self.client.post(
                f"{self.url}/api/v4/posts",
                headers={"Authorization": f"Bearer {self.token.get_secret_value()}"},
                json={"channel_id": self.settings.channel, "message": text, "props": props},
                timeout=self.settings.timeout,
            )
        except httpx.HTTPError as exc:
            return SendResult(False, retry=True, detail=type(exc).__name__)
        if r.status_code in (200, 201):
            post_id = r.json().get("id")
            return SendResult(True, detail="ok", result={"post_id": post_id, "platform_ref": post_id})
        return SendResult(
            False, retry=r.status_code == 429 or r.status_code >= 500, detail=f"HTTP {r.status_code}"
        )
