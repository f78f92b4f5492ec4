"""Tickets for escalations: Jira (REST v2) or GitLab issues, sent through the same durable outbox.

A ticket system is a target that handles ``trigger`` (open the issue with the transcript) and ``resolve``
(close it). The opened issue's key and link are stored on the escalation and posted in the thread.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from bot.escalation.settings import TargetSettings, TicketSettings
from bot.escalation.targets import RESOLVE, TRIGGER, SendResult


def transcript(page: dict[str, Any]) -> str:
    lines = [
        f"Question: {page.get('question', '')}",
        f"Bot's answer: {page.get('answer') or '—'}",
        f"Severity: {page.get('severity')}",
        f"Why: {'; '.join(page.get('reasons', [])) or '—'}",
        f"On call: {page.get('person') or '—'}",
        f"Thread: {page.get('link') or page.get('thread_id')}",
    ]
    return "\n".join(lines)


class _TicketTarget:
    kind = "ticket"

    def __init__(self, name: str, settings: TicketSettings, client: httpx.AsyncClient) -> None:
        if not settings.url or not settings.project or settings.token is None:
            raise ValueError(f"escalation.tickets ({settings.kind}) needs url, project and token")
        self.name, self.tickets, self.client = name, settings, client
        self.url = settings.url.rstrip("/")
        # the outbox routes by target settings (team, severities): tickets follow every escalation
        self.settings = TargetSettings(
            kind="webhook", url=self.url, severities=["critical", "high", "normal"]
        )

    def handles(self, action: str) -> bool:
        return action in (TRIGGER, RESOLVE)

    async def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response | SendResult:
        try:
            return await self.client.request(method, url, timeout=10.0, **kwargs)
        except httpx.HTTPError as exc:
            return SendResult(False, retry=True, detail=type(exc).__name__)


def _failed(r: httpx.Response) -> SendResult:
    return SendResult(
        False, retry=r.status_code == 429 or r.status_code >= 500, detail=f"HTTP {r.status_code}"
    )


class JiraTickets(_TicketTarget):
    kind = "jira"

    def _headers(self) -> dict[str, str]:
        """Jira Data Center: a personal access token as Bearer; Jira Cloud: e-mail + token (``_auth``)."""
        assert self.tickets.token is not None
        return (
            {} if self.tickets.user else {"Authorization": f"Bearer {self.tickets.token.get_secret_value()}"}
        )

    def _auth(self) -> tuple[str, str] | None:
        assert self.tickets.token is not None
        return (self.tickets.user, self.tickets.token.get_secret_value()) if self.tickets.user else None

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        kw: dict[str, Any] = {"headers": self._headers(), "auth": self._auth()}
        if action == TRIGGER:
            body = {
                "fields": {
                    "project": {"key": self.tickets.project},
                    "issuetype": {"name": self.tickets.issue_type},
                    "summary": f"[Opora] {page.get('question', '')}"[:250],
                    "description": transcript(page),
                }
            }
            r = await self._call("POST", f"{self.url}/rest/api/2/issue", json=body, **kw)
            if isinstance(r, SendResult):
                return r
            if r.status_code != 201:
                return _failed(r)
            key = r.json()["key"]
            return SendResult(True, detail="created", result={"key": key, "url": f"{self.url}/browse/{key}"})
        key = page.get("ticket_key")
        if not key:
            return SendResult(False, retry=True, detail="no ticket opened yet")
        r = await self._call("GET", f"{self.url}/rest/api/2/issue/{key}/transitions", **kw)
        if isinstance(r, SendResult):
            return r
        if r.status_code != 200:
            return _failed(r)
        wanted = self.tickets.close_transition.casefold()
        found = [t for t in r.json().get("transitions", []) if str(t.get("name", "")).casefold() == wanted]
        if not found:
            return SendResult(
                False, retry=False, detail=f"no transition named {self.tickets.close_transition!r}"
            )
        body = {"transition": {"id": found[0]["id"]}}
        r = await self._call("POST", f"{self.url}/rest/api/2/issue/{key}/transitions", json=body, **kw)
        if isinstance(r, SendResult):
            return r
        return SendResult(True, detail="closed", result={"key": key}) if r.status_code == 204 else _failed(r)


class GitLabTickets(_TicketTarget):
    kind = "gitlab"

    async def send(self, action: str, page: dict[str, Any]) -> SendResult:
        assert self.tickets.token is not None and self.tickets.project is not None
        headers = {"PRIVATE-TOKEN": self.tickets.token.get_secret_value()}
        base = f"{self.url}/api/v4/projects/{quote(self.tickets.project, safe='')}/issues"
        if action == TRIGGER:
            body = {"title": f"[Opora] {page.get('question', '')}"[:250], "description": transcript(page),
                    "labels": "incident,opora"}  # fmt: skip
            r = await self._call("POST", base, json=body, headers=headers)
            if isinstance(r, SendResult):
                return r
            if r.status_code != 201:
                return _failed(r)
            issue = r.json()
            return SendResult(
                True, detail="created", result={"key": str(issue["iid"]), "url": issue["web_url"]}
            )
        key = page.get("ticket_key")
        if not key:
            return SendResult(False, retry=True, detail="no ticket opened yet")
        r = await self._call("PUT", f"{base}/{key}", json={"state_event": "close"}, headers=headers)
        if isinstance(r, SendResult):
            return r
        return SendResult(True, detail="closed", result={"key": key}) if r.status_code == 200 else _failed(r)


def build_tickets(settings: TicketSettings, client: httpx.AsyncClient) -> _TicketTarget | None:
    if settings.kind == "jira":
        return JiraTickets("tickets", settings, client)
    if settings.kind == "gitlab":
        return GitLabTickets("tickets", settings, client)
    return None
