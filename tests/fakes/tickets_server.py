"""Fake Jira (REST v2) and GitLab (issues API v4) on 127.0.0.1.

Jira: ``POST /rest/api/2/issue`` (201 ``{"id", "key", "self"}``, 400 without project/issuetype/summary),
``GET /rest/api/2/issue/{key}/transitions`` (``{"transitions": [{"id": "31", "name": "Done"}, …]}``),
``POST /rest/api/2/issue/{key}/transitions`` (204). Auth: ``Authorization: Bearer <token>``.
GitLab: ``POST /api/v4/projects/{id}/issues`` (201 ``{"iid", "web_url", "state": "opened"}``),
``PUT /api/v4/projects/{id}/issues/{iid}`` with ``state_event=close`` (200, ``state: closed``). Auth:
``PRIVATE-TOKEN``. Wrong credentials: 401.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import AiohttpFake


@dataclass
class FakeTicketServer(AiohttpFake):
    token: str = "ticket-token"
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/rest/api/2/issue", self._jira_create)
        app.router.add_get("/rest/api/2/issue/{key}/transitions", self._jira_transitions)
        app.router.add_post("/rest/api/2/issue/{key}/transitions", self._jira_transition)
        app.router.add_post("/api/v4/projects/{project}/issues", self._gitlab_create)
        app.router.add_put("/api/v4/projects/{project}/issues/{iid}", self._gitlab_update)

    def _jira_ok(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _jira_create(self, request: web.Request) -> web.Response:
        if not self._jira_ok(request):
            return web.json_response({"errorMessages": ["unauthorized"]}, status=401)
        fields = (await request.json()).get("fields") or {}
        project, issuetype = fields.get("project") or {}, fields.get("issuetype") or {}
        if not (project.get("key") and issuetype.get("name") and fields.get("summary")):
            return web.json_response({"errors": {"project": "required"}}, status=400)
        n = next(self._ids)
        key = f"{fields['project']['key']}-{n}"
        self.issues[key] = {"fields": fields, "status": "Open"}
        return web.json_response(
            {"id": str(n), "key": key, "self": f"{self.url}/rest/api/2/issue/{n}"}, status=201
        )

    async def _jira_transitions(self, request: web.Request) -> web.Response:
        if not self._jira_ok(request) or request.match_info["key"] not in self.issues:
            return web.json_response({"errorMessages": ["not found"]}, status=404)
        return web.json_response(
            {"transitions": [{"id": "21", "name": "In Progress"}, {"id": "31", "name": "Done"}]}
        )

    async def _jira_transition(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if not self._jira_ok(request) or key not in self.issues:
            return web.json_response({"errorMessages": ["not found"]}, status=404)
        tid = (await request.json())["transition"]["id"]
        self.issues[key]["status"] = {"21": "In Progress", "31": "Done"}[tid]
        return web.Response(status=204)

    async def _gitlab_create(self, request: web.Request) -> web.Response:
        if request.headers.get("PRIVATE-TOKEN") != self.token:
            return web.json_response({"message": "401 Unauthorized"}, status=401)
        body = await request.json()
        iid = next(self._ids)
        project = request.match_info["project"]
        issue = {"iid": iid, "title": body["title"], "description": body.get("description", ""),
                 "state": "opened", "web_url": f"{self.url}/{project}/-/issues/{iid}"}  # fmt: skip
        self.issues[str(iid)] = issue
        return web.json_response(issue, status=201)

    async def _gitlab_update(self, request: web.Request) -> web.Response:
        issue = self.issues.get(request.match_info["iid"])
        if request.headers.get("PRIVATE-TOKEN") != self.token or issue is None:
            return web.json_response({"message": "404 Not found"}, status=404)
        if (await request.json()).get("state_event") == "close":
            issue["state"] = "closed"
        return web.json_response(issue)
