"""Paging targets: one sender per kind, each speaking its service's wire protocol over HTTP.

A sender returns a ``SendResult``: ``ok`` when the service accepted the send, otherwise whether trying
again may help (``retry``: 429, 5xx, connection errors) or not (400, bad credentials). The outbox decides
when to try again; senders never sleep.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from bot.escalation.settings import TargetSettings

PD_DEFAULT_URL = "https://events.pagerduty.com"
PD_SEVERITY = {"critical": "critical", "high": "error", "normal": "warning"}
ACK, RESOLVE, TRIGGER, REPAGE = "acknowledge", "resolve", "trigger", "repage"


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    retry: bool = False
    detail: str = ""
    result: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    name: str
    kind: str
    settings: TargetSettings

    def handles(self, action: str) -> bool: ...

    async def send(self, action: str, page: dict[str, Any]) -> SendResult: ...


def _http_result(response: httpx.Response, *, accepted: tuple[int, ...] = (200, 201, 202, 204)) -> SendResult:
    code = response.status_code
    if code in accepted:
        try:
            body = response.json()
        except ValueError:
            body = {}
        return SendResult(True, detail=f"HTTP {code}", result={"status": code, "body": body})
    retry = code == 429 or code == 408 or code >= 500
    return SendResult(False, retry=retry, detail=f"HTTP {code}: {response.text[:200]}")


async def _post(client: httpx.AsyncClient, url: str, limit: float, **kwargs: Any) -> SendResult:
    try:
        response = await client.post(url, timeout=limit, **kwargs)
    except httpx.HTTPError as exc:  # down, refused, timed out: try again later
        return SendResult(False, retry=True, detail=f"{type(exc).__name__}")
    return _http_result(response)


def page_text(page: dict[str, Any]) -> str:
    """The plain-text page: who is asked to look, the question, the link, why it was raised."""
    lines = []
    head = "Re-page" if page.get("action") == REPAGE else "Incident"
    lines.append(f"🚨 {head} ({page.get('severity', 'critical')}) from {page.get('platform', '?')}")
    if page.get("mention"):
        lines.append(f"On call: {page['mention']}")
    lines.append(f"Question: {page.get('question', '')}")
    if page.get("link"):
        lines.append(f"Thread: {page['link']}")
    else:
        lines.append(f"Thread: {page.get('thread_id', '')}")
    if page.get("reasons"):
        lines.append("Why: " + "; ".join(page["reasons"]))
    return "\n".join(lines)


class PagerDutyTarget:
    """PagerDuty Events API v2: ``POST /v2/enqueue`` (202 accepted, 400 invalid, 429 throttled, 5xx)."""

    kind = "pagerduty"

    def __init__(self, name: str, settings: TargetSettings, client: httpx.AsyncClient) -> None:
        self.name, self.settings, self.client = name, settings, client
        if settings.routing_key is None:
            raise ValueError(f"escalation target {name}: pagerduty needs routing_key")

    def handles(self, action: str) -> bool:
        return action in (TRIGGER, REPAGE, ACK, RESOLVE)

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        assert self.settings.routing_key is not None
        event: dict[str, Any] = {
            "routing_key": self.settings.routing_key.get_secret_value(),
            "event_action": TRIGGER if action == REPAGE else action,
            "dedup_key": page["dedup_key"],
        }
        if event["event_action"] == TRIGGER:
            event["payload"] = {
                "summary": f"Opora: {page.get('question', '')}"[:1024],
                "source": f"opora/{page.get('platform', 'unknown')}",
                "severity": PD_SEVERITY.get(page.get("severity", "critical"), "critical"),
                "component": page.get("team") or "opora",
                "custom_details": {
                    "question": page.get("question", ""),
                    "answer": page.get("answer", ""),
                    "thread_link": page.get("link") or page.get("thread_id"),
                    "thread_id": page.get("thread_id"),
                    "reasons": page.get("reasons", []),
                    "on_call": page.get("person"),
                },
            }
            if page.get("link"):
                event["links"] = [{"href": page["link"], "text": "Conversation"}]
        base = (self.settings.url or PD_DEFAULT_URL).rstrip("/")
        return await _post(self.client, f"{base}/v2/enqueue", self.settings.timeout, json=event)


class GrafanaTarget:
    """Grafana IRM / OnCall "Formatted webhook": ``alert_uid`` groups, ``state`` ``alerting`` or ``ok``."""

    kind = "grafana"

    def __init__(self, name: str, settings: TargetSettings, client: httpx.AsyncClient) -> None:
        self.name, self.settings, self.client = name, settings, client
        if not settings.url:
            raise ValueError(f"escalation target {name}: grafana needs url")

    def handles(self, action: str) -> bool:
        return action in (TRIGGER, REPAGE, RESOLVE)

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        body = {
            "alert_uid": page["dedup_key"],
            "title": f"Opora: {page.get('question', '')}"[:200],
            "image_url": None,
            "state": "ok" if action == RESOLVE else "alerting",
            "link_to_upstream_details": page.get("link") or page.get("thread_id"),
            "message": page_text(page),
        }
        assert self.settings.url
        return await _post(self.client, self.settings.url, self.settings.timeout, json=body)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` HMAC of ``<timestamp>.<body>`` (the receiver recomputes it to trust the call)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookTarget:
    """A generic JSON webhook; with ``secret`` the body is signed (``X-Opora-Signature``)."""

    kind = "webhook"

    def __init__(self, name: str, settings: TargetSettings, client: httpx.AsyncClient) -> None:
        self.name, self.settings, self.client = name, settings, client
        if not settings.url:
            raise ValueError(f"escalation target {name}: webhook needs url")

    def handles(self, action: str) -> bool:
        return action in (TRIGGER, REPAGE, ACK, RESOLVE)

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        body = json.dumps(
            {
                "event": action,
                "escalation_id": page.get("escalation_id"),
                "thread_id": page.get("thread_id"),
                "thread_link": page.get("link"),
                "question": page.get("question", ""),
                "answer": page.get("answer", ""),
                "severity": page.get("severity"),
                "reasons": page.get("reasons", []),
                "platform": page.get("platform"),
                "on_call": page.get("person"),
                "state": page.get("state"),
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json", "X-Opora-Event": action}
        if self.settings.secret is not None:
            ts = str(int(time.time()))
            headers["X-Opora-Timestamp"] = ts
            headers["X-Opora-Signature"] = sign(self.settings.secret.get_secret_value(), ts, body)
        assert self.settings.url
        return await _post(
            self.client, self.settings.url, self.settings.timeout, content=body, headers=headers
        )
