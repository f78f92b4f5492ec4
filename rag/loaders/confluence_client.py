"""An async Confluence REST client (``httpx``) for Cloud and Server / Data Center.

Cloud (``kind="cloud"``): ``https://<site>.atlassian.net`` with the API under ``/wiki/rest/api``, e-mail +
API token (HTTP Basic). Server / Data Center (``kind="server"``): ``https://confluence.example.com`` with the
API under ``/rest/api``, a personal access token as ``Bearer``.

Errors: 429 and 503 are retried after ``Retry-After`` (clamped to ``retry_after_max``); other 5xx, timeouts
and dropped connections are retried with exponential backoff and, for listings, a halved page size; 401 and
403 raise ``ConfluenceAuthError`` at once (the run stops with a clear message); when retries run out,
``ConfluenceUnavailable``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import structlog

log = structlog.get_logger(__name__)
Kind = Literal["cloud", "server"]


class ConfluenceError(Exception):
    """Base of the Confluence errors."""


class ConfluenceAuthError(ConfluenceError):
    """401/403: the credentials are wrong or may not read the space."""


class ConfluenceUnavailable(ConfluenceError):
    """Confluence kept failing (5xx, 429, timeouts) after every retry."""


def _with_limit(url: str, limit: int) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["limit"] = str(limit)
    return urlunsplit(parts._replace(query=urlencode(query)))


class ConfluenceClient:
    """The few REST calls the sync needs.

    Args:
        url: Site URL (Cloud: ``https://x.atlassian.net``, ``/wiki`` is added; Server: the base URL).
        kind: ``cloud`` or ``server``.
        token: API token (Cloud) or personal access token (Server).
        email: The account's e-mail (Cloud only).
        page_size: Results per listing request (halved after a 5xx, down to 1).
        max_retries: Attempts after the first one, per request.
        retry_after_max: Longest wait honoured from a ``Retry-After`` header, seconds.
        backoff: First backoff after a 5xx, seconds (doubles each time, with jitter).
        timeout: Seconds per request.
        transport: An httpx transport (tests).
        sleep: Waits between retries (tests may record them).
    """

    def __init__(
        self,
        url: str,
        *,
        kind: Kind,
        token: str,
        email: str | None = None,
        page_size: int = 50,
        max_retries: int = 5,
        retry_after_max: float = 60.0,
        backoff: float = 1.0,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        url = url.rstrip("/")
        if kind == "cloud":
            self.site = url if url.endswith("/wiki") else f"{url}/wiki"
            if not email:
                raise ValueError("confluence.email is required for kind: cloud (e-mail + API token)")
            auth: httpx.Auth | None = httpx.BasicAuth(email, token)
            headers = {}
        else:
            self.site = url
            auth, headers = None, {"Authorization": f"Bearer {token}"}
        self.kind = kind
        self.api = f"{self.site}/rest/api"
        self.page_size = page_size
        self.max_retries, self.retry_after_max, self.backoff = max_retries, retry_after_max, backoff
        self._sleep = sleep
        self.requests = 0
        self.retries = 0
        self._http = httpx.AsyncClient(
            auth=auth,
            headers={"Accept": "application/json", **headers},
            timeout=timeout,
            transport=transport,
            follow_redirects=True,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ConfluenceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- transport with retries ---------------------------------------------------------------------------
    async def _get(self, url: str, params: dict[str, Any] | None = None, *, shrink: bool = False) -> Any:
        """GET with the retry policy; ``shrink`` halves the ``limit`` of ``url`` after each 5xx."""
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = await self._http.get(url, params=params)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem, wait = f"{type(exc).__name__}", self._backoff(attempt)
            else:
                status = response.status_code
                if status < 300:
                    return response.json()
                if status in (401, 403):
                    raise ConfluenceAuthError(
                        f"Confluence refused the credentials ({status}) for {urlsplit(url).path}: check "
                        f"confluence.token{' and confluence.email' if self.kind == 'cloud' else ''} and that "
                        "the account may read the configured spaces"
                    )
                if status == 404:
                    return None
                if status in (429, 503):
                    problem, wait = str(status), self._retry_after(response, attempt)
                elif status >= 500:
                    problem, wait = str(status), self._backoff(attempt)
                    if shrink:
                        limit = int(dict(parse_qsl(urlsplit(url).query)).get("limit", self.page_size))
                        url = _with_limit(url, max(1, limit // 2))
                else:
                    raise ConfluenceError(f"Confluence answered {status} for {urlsplit(url).path}")
            if attempt > self.max_retries:
                raise ConfluenceUnavailable(f"Confluence kept failing ({problem}) after {attempt} attempts")
            self.retries += 1
            log.warning("confluence.retry", problem=problem, wait_s=round(wait, 2), attempt=attempt)
            await self._sleep(wait)

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After", "")
        try:
            wait = float(header)
        except ValueError:
            wait = self._backoff(attempt)
        return max(0.0, min(wait, self.retry_after_max))

    def _backoff(self, attempt: int) -> float:
        return min(self.retry_after_max, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    # --- calls --------------------------------------------------------------------------------------------
    async def search(self, cql: str, *, expand: str = "") -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of results of a CQL content search, following ``_links.next``."""
        params = {"cql": cql, "limit": str(self.page_size)}
        if expand:
            params["expand"] = expand
        url: str | None = f"{self.api}/content/search?{urlencode(params)}"
        while url is not None:
            data = await self._get(url, shrink=True)
            if data is None:
                return
            yield list(data.get("results") or [])
            nxt = (data.get("_links") or {}).get("next")
            url = self._absolute(nxt) if nxt else None

    def _absolute(self, link: str) -> str:
        """``_links.next`` is relative to the site base (``…/wiki`` on Cloud, the context path on Server)."""
        return link if link.startswith("http") else self.site + link

    async def page(self, page_id: str, *, expand: str) -> dict[str, Any] | None:
        return await self._get(f"{self.api}/content/{page_id}", {"expand": expand})

    async def page_by_title(self, space: str, title: str, *, expand: str) -> dict[str, Any] | None:
        data = await self._get(
            f"{self.api}/content", {"spaceKey": space, "title": title, "type": "page", "expand": expand}
        )
        results = (data or {}).get("results") or []
        return results[0] if results else None

    async def read_restrictions(self, page_id: str) -> dict[str, Any] | None:
        return await self._get(f"{self.api}/content/{page_id}/restriction/byOperation/read")

    async def group_members(self, group: str) -> list[dict[str, Any]]:
        """Every member of ``group`` (user objects; ``email`` when Confluence shows it)."""
        out: list[dict[str, Any]] = []
        start = 0
        while True:
            if self.kind == "cloud":
                url, params = f"{self.api}/group/member", {"name": group}
            else:
                url, params = f"{self.api}/group/{group}/member", {}
            data = await self._get(url, {**params, "start": start, "limit": self.page_size})
            results = (data or {}).get("results") or []
            out.extend(results)
            if not results or not (data or {}).get("_links", {}).get("next"):
                return out
            start += len(results)

    async def user(self, key: str) -> dict[str, Any] | None:
        params = {"accountId": key} if self.kind == "cloud" else {"username": key}
        return await self._get(f"{self.api}/user", params)
