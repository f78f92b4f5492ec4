"""Escalation endpoints: lifecycle (acknowledge / resolve), PagerDuty webhooks, the captured-answer review.

Mounted by ``bot.app`` under ``/api/v1/escalations``. Every route but the PagerDuty webhook (checked by its
own signature) is for admins: an API token with the ``admin`` scope or an admin web chat session, as
analytics.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from adapters.analytics_api import AdminViewer
from adapters.api import ServicesDep
from bot.errors import Forbidden, NotFound
from bot.escalation.capture import CapturedKnowledge
from bot.escalation.service import EscalationService, thread_link
from bot.services import Services
from bot.types import SessionKey

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/api/v1/escalations", tags=["escalations"])


def _service(services: Services) -> EscalationService:
    if services.escalation is None:
        raise NotFound("Escalation is not configured.", "Эскалация не настроена.")
    return services.escalation


Guarded = AdminViewer  # an admin-scope API token or an admin web chat session (as analytics)


class LifecycleBody(BaseModel):
    by: str | None = Field(default=None, max_length=255, description="Who acknowledges / resolves.")


class ReviewBody(BaseModel):
    action: Literal["approve", "reject"]
    reviewer: str | None = Field(default=None, max_length=255)
    question: str | None = Field(default=None, max_length=4000)
    answer: str | None = Field(default=None, max_length=20000)


State = Literal["open", "acknowledged", "resolved"]


def _public(row: Any, *, question: str | None, public_url: str | None) -> dict[str, Any]:
    fields = ("id", "conversation_id", "platform", "channel", "thread", "trigger", "severity", "reasons",
              "state", "assignee", "acknowledged_by", "resolved_by", "repage_count", "ticket_key",
              "ticket_url")  # fmt: skip
    out = {f: getattr(row, f) for f in fields}
    for f in ("created_at", "paged_at", "acknowledged_at", "first_human_reply_at", "resolved_at"):
        value = getattr(row, f)
        out[f] = value.isoformat() if value else None
    out["question"] = question
    thread = SessionKey(row.platform, row.channel, row.thread)
    out["link"] = thread_link(thread, public_url, row.conversation_id)
    return out


@router.get("")
async def list_escalations(
    services: ServicesDep, _: Guarded, state: Annotated[list[State] | None, Query()] = None
) -> dict[str, Any]:
    """The newest 100 escalations, of the given states only when ``state`` is given (it may repeat)."""
    from storage.repositories import escalations

    async with services.db.session() as s:
        rows = await escalations.list_with_questions(s, states=state)
    public_url = services.settings.escalation.public_url
    return {"escalations": [_public(r, question=q, public_url=public_url) for r, q in rows]}


@router.post("/{escalation_id}/acknowledge")
async def acknowledge(
    escalation_id: int, body: LifecycleBody, services: ServicesDep, viewer: Guarded
) -> dict[str, Any]:
    done = await _service(services).acknowledge(escalation_id, by=body.by or viewer.name)
    return {"escalation_id": escalation_id, "changed": done}


@router.post("/{escalation_id}/resolve")
async def resolve(
    escalation_id: int, body: LifecycleBody, services: ServicesDep, viewer: Guarded
) -> dict[str, Any]:
    done = await _service(services).resolve(escalation_id, by=body.by or viewer.name)
    return {"escalation_id": escalation_id, "changed": done}


def _pagerduty_secrets(services: Services) -> list[str]:
    return [
        t.secret.get_secret_value()
        for t in services.settings.escalation.targets
        if t.kind == "pagerduty" and t.secret is not None
    ]


@router.post("/pagerduty")
async def pagerduty_webhook(request: Request, services: ServicesDep) -> dict[str, Any]:
    """PagerDuty V3 webhooks: ``incident.acknowledged`` / ``incident.resolved`` drive the lifecycle.

    The body must carry a valid ``X-PagerDuty-Signature`` (``v1=<HMAC-SHA256 hex>`` with the pagerduty
    target's ``secret``); without a configured secret the webhook is refused.
    """
    raw = await request.body()
    secrets = _pagerduty_secrets(services)
    given = [s.strip() for s in request.headers.get("x-pagerduty-signature", "").split(",")]
    valid = {"v1=" + hmac.new(sec.encode(), raw, hashlib.sha256).hexdigest() for sec in secrets}
    if not secrets or not any(hmac.compare_digest(g, v) for g in given for v in valid):
        raise Forbidden("Bad PagerDuty signature.", "Неверная подпись PagerDuty.")
    event = json.loads(raw or b"{}").get("event") or {}
    kind = event.get("event_type", "")
    data = event.get("data") or {}
    key = data.get("incident_key") or ""
    service = _service(services)
    row = await service.by_dedup_key(key)
    if row is None:
        return {"handled": False}
    agent = (event.get("agent") or {}).get("summary") or "PagerDuty"
    if kind == "incident.acknowledged":
        changed = await service.acknowledge(row.id, by=agent)
    elif kind == "incident.resolved":
        changed = await service.resolve(row.id, by=agent)
    else:
        return {"handled": False}
    log.info("escalation.pagerduty_webhook", event_type=kind, escalation_id=row.id, changed=changed)
    return {"handled": True, "escalation_id": row.id, "changed": changed}


def _captured(services: Services) -> CapturedKnowledge:
    captured = services.engine.captured
    if captured is None:
        raise NotFound("Knowledge capture is off.", "Сбор знаний выключен.")
    return captured


@router.get("/captured")
async def review_queue(services: ServicesDep, _: Guarded, status: str | None = "draft") -> dict[str, Any]:
    from storage.repositories import escalations

    async with services.db.session() as s:
        entries = await escalations.list_captured(s, status=status)
    return {
        "entries": [
            {
                "id": e.id,
                "escalation_id": e.escalation_id,
                "question": e.question,
                "answer": e.answer,
                "lang": e.lang,
                "answered_by": e.answered_by,
                "status": e.status,
                "summarised": e.summarised,
                "answered_at": e.answered_at.isoformat() if e.answered_at else None,
            }
            for e in entries
        ]
    }


@router.post("/captured/{entry_id}")
async def review(entry_id: int, body: ReviewBody, services: ServicesDep, viewer: Guarded) -> dict[str, Any]:
    entry = await _captured(services).review(
        entry_id,
        approve=body.action == "approve",
        reviewer=body.reviewer or viewer.name,
        question=body.question,
        answer=body.answer,
    )
    if entry is None:
        raise NotFound(f"No captured entry {entry_id}.", f"Записи {entry_id} нет.")
    return {"id": entry.id, "status": entry.status}


@router.get("/captured.md", response_class=PlainTextResponse)
async def export_markdown(services: ServicesDep, _: Guarded) -> str:
    return await _captured(services).export_markdown()
