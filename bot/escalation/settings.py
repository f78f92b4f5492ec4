"""Escalation settings (``settings.escalation``): detection, paging targets, rotation, lifecycle, capture.

Documented in docs/configuration.md and docs/oncall.md. ``targets`` is a stable interface:
``OPORA_ESCALATION__TARGETS='[{"kind": "webhook", "url": "http://…"}]'``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

TargetKind = Literal["pagerduty", "grafana", "webhook", "slack", "telegram", "mattermost"]
Severity = Literal["critical", "high", "normal"]


class TargetSettings(BaseModel):
    """One place a page goes to.

    ``pagerduty``: ``routing_key`` (Events API v2 integration key), ``url`` (default
    ``https://events.pagerduty.com``). ``grafana``: ``url`` of a Grafana IRM / OnCall "Formatted webhook"
    integration. ``webhook``: ``url``, optional ``secret`` (HMAC-SHA256 of the body in
    ``X-Opora-Signature``). ``slack`` / ``telegram`` / ``mattermost``: ``channel`` (a channel or a user's
    DM id; the bot's token from that messenger's settings is used).
    """

    kind: TargetKind
    name: str | None = None  # default: "<kind>-<position>"
    team: str | None = None  # only escalations of this team's channels (None: every team)
    url: str | None = None
    routing_key: SecretStr | None = None
    secret: SecretStr | None = None
    channel: str | None = None
    severities: list[Severity] = Field(default_factory=lambda: ["critical", "high"])
    timeout: float = 5.0  # seconds per HTTP request


class PersonSettings(BaseModel):
    """Someone on the rotation, with their id in each messenger (for @-mentions)."""

    name: str
    slack: str | None = None  # Slack user id, e.g. U012AB3CD
    telegram: str | None = None  # Telegram @username
    mattermost: str | None = None  # Mattermost username
    email: str | None = None


class RotationSettings(BaseModel):
    """A weekly rotation: ``people`` take turns, each for a week, handing over at ``handoff``."""

    team: str | None = None  # None: the default rotation
    people: list[PersonSettings] = Field(default_factory=list)
    timezone: str = "UTC"
    start: str = "2026-01-05"  # a date (YYYY-MM-DD) on which people[0]'s first week begins
    handoff_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    handoff_time: str = "09:00"  # HH:MM local time

    @field_validator("people", mode="before")
    @classmethod
    def _names(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value


class TeamSettings(BaseModel):
    """Which source channels belong to a team (their escalations go to that team's targets/rotation)."""

    name: str
    channels: list[str] = Field(default_factory=list)  # "slack:C123", "telegram:-100…", or a bare id


class TicketSettings(BaseModel):
    """An optional ticket per escalation: Jira (REST v2) or GitLab issues."""

    kind: Literal["none", "jira", "gitlab"] = "none"
    url: str | None = None  # https://jira.example.com or https://gitlab.example.com
    token: SecretStr | None = None  # Jira: API token (Bearer or with user); GitLab: private token
    user: str | None = None  # Jira Cloud: the account e-mail (basic auth with the token)
    project: str | None = None  # Jira project key, or GitLab project id / "group/project"
    issue_type: str = "Incident"  # Jira issue type
    close_transition: str = "Done"  # Jira transition name used when the thread is resolved


class EscalationSettings(BaseModel):
    enabled: bool = True
    phrases: list[str] = Field(default_factory=list)  # extra phrases: a message containing one pages
    patterns: list[str] = Field(default_factory=list)  # extra regular expressions, same effect
    threshold: float | None = None  # classifier probability to page (None: the fitted one)
    always_page: list[str] = Field(default_factory=list)  # channels where every question pages
    never_page: list[str] = Field(default_factory=list)  # channels never paged from (detector only)
    contact: str = ""  # how to reach a human when nobody could be paged (shown to the asker)
    targets: list[TargetSettings] = Field(default_factory=list)
    teams: list[TeamSettings] = Field(default_factory=list)
    rotations: list[RotationSettings] = Field(default_factory=list)
    repage_minutes: float = 10.0  # not acknowledged within this → page the next person
    max_repages: int = 3
    announce_timeout: float = 4.0  # seconds the answer waits for the first page to be accepted
    outbox_interval: float = 5.0  # seconds between outbox sweeps (retries, re-pages)
    max_attempts: int = 20  # a send failing this often is marked failed (and logged)
    public_url: str | None = None  # Opora's own URL, for web chat thread links and PagerDuty links
    llm_judge: bool = True  # with an LLM provider configured, a second opinion in the background
    llm_judge_timeout: float = 2.0  # seconds; on timeout, error or bad output the offline verdict stands
    # the judge sees only messages the classifier finds at least this likely (the grey zone below its
    # threshold): 2-fold CV, bench.escalation — the largest bound that keeps every miss of both folds
    llm_judge_min_probability: float = Field(default=0.05, ge=0.0, le=1.0)
    takeover: bool = True  # once a human answered in an escalated thread, the bot stays quiet there
    capture: bool = True  # resolved threads become draft Q&A entries for review
    capture_threshold: float = 0.95  # cosine at which a captured answer is reused (bench.capture_threshold)
    capture_summary: bool = True  # with an LLM provider configured, the draft is its summary of the thread
    capture_summary_timeout: float = 30.0  # seconds (in the background); else the answers stay verbatim
    tickets: TicketSettings = Field(default_factory=TicketSettings)
