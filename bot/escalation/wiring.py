"""Build the escalation service from settings: targets by kind, one shared HTTP client; and the LLM's
parts (the incident judge's second opinion, the capture summary) when a provider is configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from bot.escalation.base import Escalator
from bot.escalation.judge import IncidentJudge
from bot.escalation.messenger_targets import MattermostTarget, SlackTarget, TelegramTarget
from bot.escalation.outbox import Clock
from bot.escalation.rotation import now_utc
from bot.escalation.second_opinion import SecondOpinion
from bot.escalation.service import EscalationService
from bot.escalation.summary import LLMSummariser
from bot.escalation.targets import GrafanaTarget, PagerDutyTarget, Target, WebhookTarget
from bot.escalation.tickets import build_tickets
from providers.base import LLMProvider
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


def build_second_opinion(
    settings: Settings,
    db: Database,
    llm: LLMProvider | None,
    escalator: Escalator,
    service: EscalationService | None,
) -> SecondOpinion | None:
    """The LLM's judgement beside each answer; ``None`` without a provider (extractive mode) or when off."""
    cfg = settings.escalation
    if llm is None or not (cfg.enabled and cfg.llm_judge):
        return None
    return SecondOpinion(
        IncidentJudge(llm, timeout=cfg.llm_judge_timeout),
        escalator,
        db,
        contact=cfg.contact,
        never_page=cfg.never_page,
        tell=service.tell if service is not None else None,
        min_probability=cfg.llm_judge_min_probability,
    )


def build_summariser(settings: Settings, llm: LLMProvider | None) -> LLMSummariser | None:
    """The capture summary; ``None`` without a provider or when off (the draft is then verbatim)."""
    cfg = settings.escalation
    if llm is None or not cfg.capture_summary:
        return None
    return LLMSummariser(llm, timeout=cfg.capture_summary_timeout)
