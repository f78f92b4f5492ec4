"""A fake Confluence (Cloud or Server / Data Center flavour) speaking the REST calls our client makes.

Cloud: API under ``/wiki/rest/api``, HTTP Basic e-mail + API token, cursor paging, users by ``accountId``.
Server: API under ``/rest/api``, ``Authorization: Bearer <PAT>``, ``start`` paging, users by ``username``.

CQL subset: ``space = "A"`` / ``space in ("A","B")``, ``type = page``, ``lastmodified >= "yyyy/MM/dd HH:mm"``
(UTC), ``order by lastmodified`` — joined with ``and``. Faults: ``fail(status, times, retry_after=…)``
makes the next matching requests fail; ``outage_after(n)`` fails every request after ``n`` more;
``slow(seconds, times)`` delays the next answers; ``delay`` slows every answer. Pages: made from
Markdown files (``add_markdown``) or storage XML (``add_page``); ``edit``, ``move``, ``restrict``,
``delete`` change them the way Confluence does (version and time bumped on edit and move, not on
restrict).
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakes.server import AiohttpFake

_CQL_SPACE = re.compile(r'space\s*(?:=\s*"?([\w-]+)"?|in\s*\(([^)]*)\))', re.I)
_CQL_SINCE = re.compile(r'lastmodified\s*>=?\s*"([^"]+)"', re.I)


@dataclass
class FakeUser:
    key: str  # accountId (Cloud) or username (Server)
    name: str
    email: str | None


@dataclass
class FakePage:
    id: str
    space: str
    title: str
    body: str
    parent: str | None = None
    version: int = 1
    modified: datetime = field(default_factory=lambda: datetime.now(UTC))
    editor: str = "anna"
    labels: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)  # read restriction: user keys
    groups: list[str] = field(default_factory=list)  # read restriction: group names


def markdown_to_storage(md: str) -> str:
    """A small Markdown → storage-format writer for the sample KB (headings, code, lists, paragraphs)."""
    out: list[str] = []
    lines = md.splitlines()
    i = 0
    para: list[str] = []

    def flush() -> None:
        if para:
            out.append(f"<p>{html.escape(' '.join(para))}</p>")
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush()
            lang = line[3:].strip()
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                code.append(lines[i])
                i += 1
            param = f'<ac:parameter ac:name="language">{lang}</ac:parameter>' if lang else ""
            body = "\n".join(code).replace("]]>", "]] >")
            out.append(
                f'<ac:structured-macro ac:name="code">{param}'
                f"<ac:plain-text-body><![CDATA[{body}]]></ac:plain-text-body></ac:structured-macro>"
            )
        elif m := re.match(r"^(#{1,6})\s+(.*)", line):
            flush()
            n = len(m.group(1))
            out.append(f"<h{n}>{html.escape(m.group(2).strip())}</h{n}>")
        elif m := re.match(r"^\s*[-*]\s+(.*)", line):
            flush()
            items = [m.group(1)]
            while i + 1 < len(lines) and (m2 := re.match(r"^\s*[-*]\s+(.*)", lines[i + 1])):
                items.append(m2.group(1))
                i += 1
            out.append("<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in items) + "</ul>")
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out)


class FakeConfluence(AiohttpFake):
    def __init__(self, kind: str = "cloud", *, email: str = "bot@example.com", token: str = "tok") -> None:
        self.kind, self.email, self.token = kind, email, token
        self.prefix = "/wiki" if kind == "cloud" else ""
        self.pages: dict[str, FakePage] = {}
        self.users: dict[str, FakeUser] = {}
        self.groups: dict[str, list[str]] = {}
        self.now = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
        self.delay = 0.0
        self.requests: list[str] = []
        self._faults: list[tuple[int, int, str | None, str]] = []  # status, times left, retry-after, match
        self._outage_after: int | None = None
        self._slow: list[list[Any]] = []  # [seconds, times left, match]
        self._next_id = 1000

    # --- the wiki's state -----------------------------------------------------------------------------------
    def tick(self, minutes: float = 1) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now

    def add_user(self, key: str, name: str, email: str | None, groups: tuple[str, ...] = ()) -> None:
        self.users[key] = FakeUser(key, name, email)
        for g in groups:
            self.groups.setdefault(g, []).append(key)

    def add_page(self, space: str, title: str, body: str, *, parent: str | None = None, **kw: Any) -> str:
        self._next_id += 1
        pid = str(self._next_id)
        self.pages[pid] = FakePage(pid, space, title, body, parent=parent, modified=self.tick(), **kw)
        return pid

    def add_markdown(self, space: str, title: str, md: str, **kw: Any) -> str:
        return self.add_page(space, title, markdown_to_storage(md), **kw)

    def edit(self, pid: str, *, body: str | None = None, title: str | None = None) -> None:
        page = self.pages[pid]
        page.body = body if body is not None else page.body
        page.title = title if title is not None else page.title
        page.version += 1
        page.modified = self.tick()

    def move(self, pid: str, *, space: str | None = None, parent: str | None = None) -> None:
        page = self.pages[pid]
        page.space = space or page.space
        page.parent = parent
        page.version += 1
        page.modified = self.tick()

    def restrict(self, pid: str, *, users: list[str] = (), groups: list[str] = ()) -> None:  # type: ignore[assignment]
        page = self.pages[pid]
        page.users, page.groups = list(users), list(groups)  # like Confluence: no new version

    def delete(self, pid: str) -> None:
        del self.pages[pid]

    def fail(self, status: int, times: int = 1, *, retry_after: str | None = None, match: str = "") -> None:
        self._faults.append((status, times, retry_after, match))

    def slow(self, seconds: float, times: int = 1, *, match: str = "") -> None:
        """The next ``times`` matching requests answer only after ``seconds`` (a client may time out)."""
        self._slow.append([seconds, times, match])

    def outage_after(self, n: int | None) -> None:
        self._outage_after = n

    # --- HTTP ---------------------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        p = f"{self.prefix}/rest/api"
        app.router.add_get(f"{p}/content/search", self._search)
        app.router.add_get(f"{p}/content/{{id}}/restriction/byOperation/read", self._restrictions)
        app.router.add_get(f"{p}/content/{{id}}", self._content)
        app.router.add_get(f"{p}/content", self._by_title)
        app.router.add_get(f"{p}/group/member", self._members)
        app.router.add_get(f"{p}/group/{{name}}/member", self._members)
        app.router.add_get(f"{p}/user", self._user)

    async def _gate(self, request: web.Request) -> web.Response | None:
        self.requests.append(str(request.rel_url))
        if self.delay:
            await asyncio.sleep(self.delay)
        for entry in list(self._slow):
            if entry[2] in str(request.rel_url):
                entry[1] -= 1
                if entry[1] <= 0:
                    self._slow.remove(entry)
                await asyncio.sleep(entry[0])
                break
        auth = request.headers.get("Authorization", "")
        if self.kind == "cloud":
            good = "Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        else:
            good = f"Bearer {self.token}"
        if auth != good:
            return web.json_response({"message": "Unauthorized"}, status=401)
        if self._outage_after is not None:
            if self._outage_after <= 0:
                return web.json_response({"message": "down"}, status=500)
            self._outage_after -= 1
        for i, (status, times, retry_after, match) in enumerate(self._faults):
            if match in str(request.rel_url):
                if times <= 1:
                    self._faults.pop(i)
                else:
                    self._faults[i] = (status, times - 1, retry_after, match)
                headers = {"Retry-After": retry_after} if retry_after else {}
                return web.json_response({"message": f"fault {status}"}, status=status, headers=headers)
        return None

    def _user_json(self, key: str) -> dict[str, Any]:
        u = self.users.get(key) or FakeUser(key, key, None)
        out: dict[str, Any] = {"type": "known", "displayName": u.name}
        out["accountId" if self.kind == "cloud" else "username"] = u.key
        if u.email:
            out["email"] = u.email
        return out

    def _restrictions_json(self, page: FakePage) -> dict[str, Any]:
        return {
            "user": {"results": [self._user_json(k) for k in page.users], "size": len(page.users)},
            "group": {
                "results": [{"type": "group", "name": g} for g in page.groups],
                "size": len(page.groups),
            },
        }

    def _ancestors(self, page: FakePage) -> list[FakePage]:
        chain: list[FakePage] = []
        parent = page.parent
        while parent and parent in self.pages:
            chain.insert(0, self.pages[parent])
            parent = self.pages[parent].parent
        return chain

    def _page_json(self, page: FakePage, expand: str) -> dict[str, Any]:
        webui = (
            f"/spaces/{page.space}/pages/{page.id}/{page.title.replace(' ', '+')}"
            if self.kind == "cloud"
            else f"/display/{page.space}/{page.title.replace(' ', '+')}"
        )
        out: dict[str, Any] = {
            "id": page.id,
            "type": "page",
            "status": "current",
            "title": page.title,
            "space": {"key": page.space},
            "_links": {"webui": webui, "self": f"{self.url}{self.prefix}/rest/api/content/{page.id}"},
        }
        if "version" in expand:
            out["version"] = {
                "number": page.version,
                "when": page.modified.isoformat().replace("+00:00", "Z"),
                "by": self._user_json(page.editor),
            }
        if "body.storage" in expand:
            out["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        if "ancestors" in expand:
            out["ancestors"] = [{"id": a.id, "type": "page", "title": a.title} for a in self._ancestors(page)]
        if "metadata.labels" in expand:
            out["metadata"] = {"labels": {"results": [{"name": n} for n in page.labels]}}
        if "restrictions.read" in expand:
            read = {"operation": "read", "restrictions": self._restrictions_json(page)}
            out["restrictions"] = {"read": read}
        return out

    def _cql(self, cql: str) -> list[FakePage]:
        spaces: set[str] | None = None
        if m := _CQL_SPACE.search(cql):
            spaces = {m.group(1)} if m.group(1) else {s.strip().strip('"') for s in m.group(2).split(",")}
        since = None
        if m := _CQL_SINCE.search(cql):
            since = datetime.strptime(m.group(1), "%Y/%m/%d %H:%M").replace(tzinfo=UTC)
        found = [
            p
            for p in self.pages.values()
            if (spaces is None or p.space in spaces)
            # CQL compares at minute precision: a page edited at 10:05:40 matches ">= 10:05"
            and (since is None or p.modified.replace(second=0, microsecond=0) >= since)
        ]
        return sorted(found, key=lambda p: (p.modified, p.id))

    async def _search(self, request: web.Request) -> web.Response:
        if (denied := await self._gate(request)) is not None:
            return denied
        q = request.query
        limit = min(int(q.get("limit", 25)), 100)
        if self.kind == "cloud" and q.get("cursor"):
            start = int(base64.b64decode(q["cursor"]).decode())
        else:
            start = int(q.get("start", 0))
        found = self._cql(q.get("cql", ""))
        batch = found[start : start + limit]
        links: dict[str, Any] = {"base": f"{self.url}{self.prefix}", "context": self.prefix}
        if start + limit < len(found):
            params = {k: v for k, v in q.items() if k not in ("start", "cursor")}
            if self.kind == "cloud":
                params["cursor"] = base64.b64encode(str(start + limit).encode()).decode()
            else:
                params["start"] = str(start + limit)
            from urllib.parse import urlencode

            links["next"] = f"/rest/api/content/search?{urlencode(params)}"
        body = {
            "results": [self._page_json(p, q.get("expand", "")) for p in batch],
            "start": start,
            "limit": limit,
            "size": len(batch),
            "_links": links,
        }
        return web.json_response(body)

    async def _content(self, request: web.Request) -> web.Response:
        if (denied := await self._gate(request)) is not None:
            return denied
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return web.json_response({"message": "not found"}, status=404)
        return web.json_response(self._page_json(page, request.query.get("expand", "")))

    async def _by_title(self, request: web.Request) -> web.Response:
        if (denied := await self._gate(request)) is not None:
            return denied
        q = request.query
        found = [p for p in self.pages.values() if p.space == q.get("spaceKey") and p.title == q.get("title")]
        return web.json_response({"results": [self._page_json(p, q.get("expand", "")) for p in found]})

    async def _restrictions(self, request: web.Request) -> web.Response:
        if (denied := await self._gate(request)) is not None:
            return denied
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return web.json_response({"message": "not found"}, status=404)
        return web.json_response({"operation": "read", "restrictions": self._restrictions_json(page)})

    async def _members(self, request: web.Request) -> web.Response:
        if (denied := await self._gate(request)) is not None:
            return denied
        name = request.match_info.get("name") or request.query.get("name", "")
        start, limit = int(request.query.get("start", 0)), int(request.query.get("limit", 50))
        keys = self.groups.get(name, [])
        batch = keys[start : start + limit]
        links = {"next": "more"} if start + limit < len(keys) else {}
        return web.json_response({"results": [self._user_json(k) for k in batch], "_links": links})

    async def _user(self, request: web.Request) -> web.Response:
        if (denied := await self._gate(request)) is not None:
            return denied
        key = request.query.get("accountId") or request.query.get("username") or ""
        if key not in self.users:
            return web.json_response({"message": "not found"}, status=404)
        return web.json_response(self._user_json(key))
