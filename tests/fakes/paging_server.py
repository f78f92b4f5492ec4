"""Fake paging services on 127.0.0.1: PagerDuty Events API v2, Grafana OnCall formatted webhook, a webhook.

PagerDuty (``POST /v2/enqueue``) answers as the real one does: 202 ``{"status": "success", "message":
"Event processed", "dedup_key": …}``; 400 ``{"status": "invalid event", "errors": […]}`` for a body
missing ``routing_key`` / a valid ``event_action`` / ``payload.summary|source|severity`` on triggers;
429 (no ``Retry-After``, as PagerDuty sends it) and 5xx when scripted with ``script([429, 500])``.

Grafana (``POST /integrations/v1/formatted_webhook/<token>/``) accepts ``alert_uid``, ``title``,
``state`` (``alerting`` | ``ok``), ``message``, ``link_to_upstream_details`` and answers 200 ``"ok"``.

Webhook (``POST /hook``): keeps the raw body and headers; ``script([503, …])`` or ``down = True``
(every call 503) makes it fail.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import AiohttpFake

PD_ACTIONS = ("trigger", "acknowledge", "resolve")
PD_SEVERITIES = ("critical", "error", "warning", "info")


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    status: int
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class FakePagingServer(AiohttpFake):
    received: list[Received] = field(default_factory=list)
    scripted: list[int] = field(default_factory=list)
    down: bool = False

    def script(self, statuses: list[int]) -> None:
        """The next calls answer these statuses, in order (then normally again)."""
        self.scripted.extend(statuses)

    def accepted(self, path_prefix: str = "") -> list[Received]:
        return [r for r in self.received if r.path.startswith(path_prefix) and r.status < 300]

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/enqueue", self._pagerduty)
        app.router.add_post("/integrations/v1/formatted_webhook/{token}/", self._grafana)
        app.router.add_post("/hook", self._webhook)

    def _scripted_status(self) -> int | None:
        if self.down:
            return 503
        return self.scripted.pop(0) if self.scripted else None

    async def _read(self, request: web.Request) -> tuple[bytes, dict[str, Any]]:
        raw = await request.read()
        try:
            return raw, json.loads(raw or b"{}")
        except ValueError:
            return raw, {}

    def _keep(self, request: web.Request, raw: bytes, body: dict[str, Any], status: int) -> None:
        self.received.append(Received(request.path, body, raw, dict(request.headers), status))

    async def _pagerduty(self, request: web.Request) -> web.Response:
        raw, body = await self._read(request)
        status = self._scripted_status()
        if status == 429:
            self._keep(request, raw, body, 429)
            throttled = {"status": "throttle event", "message": "Requests are arriving too quickly."}
            return web.json_response(throttled, status=429)
        if status is not None and status >= 500:
            self._keep(request, raw, body, status)
            return web.Response(status=status, text="internal error")
        errors = []
        if not body.get("routing_key"):
            errors.append("'routing_key' is missing or blank")
        if body.get("event_action") not in PD_ACTIONS:
            errors.append("'event_action' is invalid")
        if body.get("event_action") in ("acknowledge", "resolve") and not body.get("dedup_key"):
            errors.append("'dedup_key' is missing or blank")
        if body.get("event_action") == "trigger":
            payload = body.get("payload") or {}
            for key in ("summary", "source", "severity"):
                if not payload.get(key):
                    errors.append(f"'payload.{key}' is missing or blank")
            if payload.get("severity") and payload["severity"] not in PD_SEVERITIES:
                errors.append("'payload.severity' is invalid")
        if errors or status == 400:
            self._keep(request, raw, body, 400)
            invalid = {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors or ["x"],
            }
            return web.json_response(invalid, status=400)
        self._keep(request, raw, body, 202)
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": body.get("dedup_key")},
            status=202,
        )

    async def _grafana(self, request: web.Request) -> web.Response:
        raw, body = await self._read(request)
        status = self._scripted_status()
        if status is not None:
            self._keep(request, raw, body, status)
            return web.Response(status=status, text="error")
        if body.get("state") not in ("alerting", "ok") or not body.get("alert_uid") or not body.get("title"):
            self._keep(request, raw, body, 400)
            return web.Response(status=400, text="bad alert")
        self._keep(request, raw, body, 200)
        return web.Response(text="ok")

    async def _webhook(self, request: web.Request) -> web.Response:
        raw, body = await self._read(request)
        status = self._scripted_status() or 200
        self._keep(request, raw, body, status)
        return web.json_response({"ok": status < 300}, status=status)
