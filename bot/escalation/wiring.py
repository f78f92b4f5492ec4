"""Build the escalation service from settings: targets by kind, one shared HTTP client."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from bot.escalation.messenger_targets import MattermostTarget, SlackTarget, TelegramTarget
from bot.escalation.outbox import Clock
from bot.escalation.rotation import now_utc
from bot.escalation.service import EscalationService
from bot.escalation.targets import GrafanaTarget, PagerDutyTarget, Target, WebhookTarget
from bot.escalation.tickets import build_tickets
from storage.db import Database

if TYPE_CHECKING:
    from bot.config import Settings


def build_targets(settings: Settings, client: httpx.AsyncClient) -> list[Target]:
    """One sender per ``escalation.targets`` entry; a misconfigured one fails the start, loudly."""
    found: list[Target] = []
    for i, cfg in enumerate(settings.escalation.targets):
        name = cfg.name or f"{cfg.kind}-{i}"
        target: Target
        if cfg.kind == "pagerduty":
            target = PagerDutyTarget(name, cfg, client)
        elif cfg.kind == "grafana":
            target = GrafanaTarget(name, cfg, client)
        elif cfg.kind == "webhook":
            target = WebhookTarget(name, cfg, client)
        elif cfg.kind == "slack":
            target = SlackTarget(
                name, cfg, client, token=settings.slack.bot_token, api_url=settings.slack.api_url
            )
        elif cfg.kind == "telegram":
            target = TelegramTarget(
                name, cfg, client, token=settings.telegram.bot_token, api_url=settings.telegram.api_url
            )
        else:
            target = MattermostTarget(
                name,
                cfg,
                client,
                url=settings.mattermost.url,
                token=settings.mattermost.token,
                action_url=settings.mattermost.action_url,
                action_token=settings.mattermost.action_token,
            )
        found.append(target)
    tickets = build_tickets(settings.escalation.tickets, client)
    if tickets is not None:
        found.append(tickets)
    return found


def build_escalation(
    settings: Settings, db: Database, *, clock: Clock = now_utc, worker: str | None = None
) -> tuple[EscalationService, httpx.AsyncClient]:
    """The service and the HTTP client it sends with (close the client on shutdown)."""
    client = httpx.AsyncClient(follow_redirects=False)
    service = EscalationService(
        db, settings.escalation, build_targets(settings, client), clock=clock, worker=worker
    )
    return service, client
