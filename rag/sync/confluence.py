"""Confluence → index: incremental sync, reconcile with a mass-deletion guard, read permissions.

One source, ``confluence``; a document per page (external id = page id, so a page moved between spaces
keeps its id). State lives in one checkpoint (``CheckpointStore``): per page the indexed
``[version, access, space]``, per space the start of the last completed window. It is written after every
batch of pages, so a killed run resumes where it stopped, and pages listed again with the same version and
permissions cost nothing (no body fetched, nothing embedded).

- ``run(full=False)``: pages of each space modified since the last completed run minus
  ``overlap_minutes`` (CQL ``lastmodified``), oldest first.
- ``run(full=True)`` (reconcile): every page of each space (ids, versions, restrictions; bodies only for
  changed pages). Afterwards pages that vanished or left the configured spaces are deleted — unless more
  than ``mass_delete_ratio`` of a space (and more than ``mass_delete_min`` pages) vanished at once: then
  nothing of that space is deleted, and the run reports it (``guarded``).
- A run that fails (Confluence down, 401/403) deletes nothing; what it indexed before failing stays.

Permissions: a page's read restrictions and those of its ancestors (inherited) become the points'
``access`` list (``rag.access``). One restricted level: its users (``user:<e-mail>``) and groups
(``group:<name>``). Several levels: a reader must pass each, so the levels are expanded to users and
intersected. The members of every group that appears are stored too (``groups_checkpoint``), so a
person's groups are known when they ask.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from rag.access import NOBODY, group_principal, user_principal
from rag.ingest import Ingestor
from rag.language import lang_by_letters
from rag.loaders.confluence_client import ConfluenceClient
from rag.loaders.confluence_markup import ConvertContext, PageRef, storage_to_markdown
from rag.sync.settings import ConfluenceSettings
from rag.types import SourceDocument

log = structlog.get_logger(__name__)

SOURCE = "confluence"
STATE_CHECKPOINT = "confluence.state"
GROUPS_CHECKPOINT = "confluence.groups"
LIST_EXPAND = "version,ancestors,restrictions.read.restrictions.user,restrictions.read.restrictions.group"
PAGE_EXPAND = "body.storage,version,ancestors,metadata.labels,space"
_INCLUDE = re.compile(
    r'<ac:structured-macro[^>]*ac:name="(?:include|excerpt-include)".*?<ri:page([^>]*)/?>', re.S
)
_ATTR = re.compile(r'ri:(space-key|content-title)="([^"]*)"')
_USER = re.compile(r'<ri:user[^>]*?ri:(?:account-id|userkey|username)="([^"]+)"')


class CheckpointStore(Protocol):
    """Durable JSON state by name (``storage.repositories.jobs.SqlCheckpoints``)."""

    async def get(self, name: str) -> dict[str, Any] | None: ...

    async def put(self, name: str, value: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class SyncStats:
    seen: int = 0  # pages listed
    changed: int = 0  # pages (re)indexed: new, edited, moved, permissions changed
    deleted: int = 0
    errors: int = 0  # pages that could not be fetched or converted (retried next run)
    guarded: int = 0  # pages NOT deleted because the mass-deletion guard held
    chunks: int = 0  # chunks written
    embedded: int = 0  # of those, chunks whose text was embedded (the rest reused stored vectors)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, int]:
        return {k: int(v) if k != "seconds" else round(v, 3) for k, v in asdict(self).items()}  # type: ignore[misc]


class _Docs:
    """A ``Loader`` over documents already in hand (one batch)."""

    source = SOURCE

    def __init__(self, docs: list[SourceDocument]) -> None:
        self.docs = docs

    async def load(self) -> AsyncIterator[SourceDocument]:
        for doc in self.docs:
            yield doc


class ConfluenceSync:
    """Brings the ``confluence`` source of the index in step with the configured spaces.

    Args:
        settings: ``settings.confluence``.
        client: The REST client (built from the settings by ``client_from_settings``).
        ingestor: Writes documents (chunking, embedding with reuse of unchanged sections, the catalog).
        checkpoints: Where the sync state is kept between (and during) runs.
        on_progress: Called with the running ``SyncStats`` after every batch.
        now: The clock (tests).
    """

    def __init__(
        self,
        settings: ConfluenceSettings,
        client: ConfluenceClient,
        ingestor: Ingestor,
        checkpoints: CheckpointStore,
        *,
        on_progress: Callable[[SyncStats], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings, self.client, self.ingestor, self.checkpoints = settings, client, ingestor, checkpoints
        self.on_progress = on_progress
        self.now = now
        self._restrictions: dict[str, list[dict[str, Any]]] = {}
        self._users: dict[str, dict[str, Any] | None] = {}
        self._members: dict[str, list[str]] = {}
        self._bodies: dict[PageRef, str | None] = {}

    # --- the run ------------------------------------------------------------------------------------------
    async def run(self, *, full: bool = False) -> SyncStats:
        started = time.perf_counter()
        stats = SyncStats()
        state = await self.checkpoints.get(STATE_CHECKPOINT) or {}
        pages: dict[str, list[Any]] = state.setdefault("pages", {})  # id -> [version, access, space]
        windows: dict[str, str] = state.setdefault("since", {})
        if state.get("fingerprint") != self.ingestor.fingerprint:
            # A new embedder or chunker: every page must be indexed again, so list them all.
            for key in pages.values():
                key[0] = -1
            state["fingerprint"] = self.ingestor.fingerprint
            full = full or bool(pages)
        self._restrictions.clear()
        self._bodies.clear()
        listed: dict[str, set[str]] = {}
        for space in self.settings.spaces:
            run_start = self.now()
            listed[space] = await self._space(space, full, state, stats)
            windows[space] = run_start.isoformat()
            await self.checkpoints.put(STATE_CHECKPOINT, state)
        if full:
            await self._reconcile(listed, state, stats)
        await self._store_groups(pages)
        stats.seconds = time.perf_counter() - started
        log.info("confluence.sync_done", full=full, **stats.as_dict())
        return stats

    def _cql(self, space: str, since: str | None) -> str:
        cql = f'space = "{space}" and type = page'
        if since:
            start = datetime.fromisoformat(since) - timedelta(minutes=self.settings.overlap_minutes)
            cql += f' and lastmodified >= "{start.astimezone(UTC):%Y/%m/%d %H:%M}"'
        return cql + " order by lastmodified asc"

    async def _space(self, space: str, full: bool, state: dict[str, Any], stats: SyncStats) -> set[str]:
        pages: dict[str, list[Any]] = state["pages"]
        since = None if full else state["since"].get(space)
        seen: set[str] = set()
        async for batch in self.client.search(self._cql(space, since), expand=LIST_EXPAND):
            todo: list[tuple[dict[str, Any], list[str]]] = []
            for item in batch:
                pid = str(item["id"])
                seen.add(pid)
                access = await self._access(item)
                version = int((item.get("version") or {}).get("number", 0))
                if pages.get(pid) != [version, access, space]:
                    todo.append((item, access))
            stats.seen += len(batch)
            docs: list[SourceDocument] = []
            keys: dict[str, list[Any]] = {}
            for item, access in todo:
                doc = await self._document(str(item["id"]), access, stats)
                if doc is not None:
                    docs.append(doc)
                    keys[doc.external_id] = [doc.meta["version"], access, doc.meta["space"]]
            if docs:
                result = await self.ingestor.run(_Docs(docs), complete=False)
                stats.chunks += result.chunks
                stats.embedded += result.chunks - result.reused
                stats.changed += len(docs)
            pages.update(keys)
            await self.checkpoints.put(STATE_CHECKPOINT, state)  # a killed run resumes after this batch
            self._report(stats)
        return seen

    async def _reconcile(self, listed: dict[str, set[str]], state: dict[str, Any], stats: SyncStats) -> None:
        pages: dict[str, list[Any]] = state["pages"]
        everywhere = set().union(*listed.values()) if listed else set()
        indexed = set((await self.ingestor.catalog.states(SOURCE)).keys())
        by_space: dict[str, set[str]] = {}
        for pid in set(pages) | indexed:
            space = pages[pid][2] if pid in pages else "?"
            by_space.setdefault(space, set()).add(pid)
        for space, known in sorted(by_space.items()):
            vanished = sorted(known - everywhere)
            if not vanished:
                continue
            if space in listed and self._guard(space, len(vanished), len(known)):
                stats.guarded += len(vanished)
                continue
            stats.deleted += await self.ingestor.remove(SOURCE, vanished)
            for pid in vanished:
                pages.pop(pid, None)
        await self.checkpoints.put(STATE_CHECKPOINT, state)
        self._report(stats)

    def _guard(self, space: str, vanished: int, known: int) -> bool:
        cfg = self.settings
        if vanished > cfg.mass_delete_min and vanished > cfg.mass_delete_ratio * known:
            log.error(
                "confluence.mass_delete_refused",
                space=space,
                vanished=vanished,
                known=known,
                hint="a Confluence outage or permission change? Nothing was deleted; "
                "raise confluence.mass_delete_ratio to accept it",
            )
            return True
        return False

    def _report(self, stats: SyncStats) -> None:
        if self.on_progress is not None:
            self.on_progress(stats)

    # --- one page -----------------------------------------------------------------------------------------
    async def _document(self, pid: str, access: list[str], stats: SyncStats) -> SourceDocument | None:
        page = await self.client.page(pid, expand=PAGE_EXPAND)
        if page is None:  # deleted since it was listed: the next reconcile removes it
            return None
        space = (page.get("space") or {}).get("key") or ""
        if space not in self.settings.spaces:
            return None  # moved out between listing and fetching
        storage = ((page.get("body") or {}).get("storage") or {}).get("value") or ""
        try:
            names = await self._user_names(storage)
            await self._prefetch_includes(storage, space)
            ctx = ConvertContext(
                base_url=self.client.site,
                space=space,
                user_name=names.get,
                page_body=self._bodies.get,
                attachment_url=lambda n: f"{self.client.site}/download/attachments/{pid}/{n}",
                seen=[(space, page.get("title") or "")],
            )
            text = await asyncio.to_thread(storage_to_markdown, storage, ctx)
        except Exception as exc:  # one broken page must not stop the space; it is retried next run
            stats.errors += 1
            log.warning("confluence.page_failed", page=pid, error=f"{type(exc).__name__}: {exc}")
            return None
        title = str(page.get("title") or pid)
        version = page.get("version") or {}
        ancestors = [str(a.get("title") or "") for a in page.get("ancestors") or []]
        webui = (page.get("_links") or {}).get("webui") or f"/pages/viewpage.action?pageId={pid}"
        labels = ((page.get("metadata") or {}).get("labels") or {}).get("results") or []
        editor = (version.get("by") or {}).get("displayName")
        return SourceDocument(
            source=SOURCE,
            external_id=pid,
            title=title,
            text=text,
            kind="markdown",
            lang=lang_by_letters(text) or "en",
            url=self.client.site + webui,
            path=" › ".join([space, *ancestors, title]),
            meta={
                "space": space,
                "version": int(version.get("number", 0)),
                "access": access,
                "anchor_prefix": "".join(title.split()),
                "labels": [str(x.get("name")) for x in labels],
                "ancestors": ancestors,
                "editor": editor,
                "modified": version.get("when"),
            },
        )

    async def _user_names(self, storage: str) -> dict[str, str]:
        names: dict[str, str] = {}
        for key in set(_USER.findall(storage)):
            user = await self._user(key)
            if user and user.get("displayName"):
                names[key] = str(user["displayName"])
        return names

    async def _user(self, key: str) -> dict[str, Any] | None:
        if key not in self._users:
            self._users[key] = await self.client.user(key)
        return self._users[key]

    async def _prefetch_includes(self, storage: str, space: str, depth: int = 0) -> None:
        """Fetch the bodies of included pages (and theirs, up to 5 deep) for the converter."""
        if depth >= 5:
            return
        for attrs in _INCLUDE.findall(storage):
            found = dict(_ATTR.findall(attrs))
            ref = (found.get("space-key") or space, found.get("content-title") or "")
            if ref in self._bodies or not ref[1]:
                continue
            page = await self.client.page_by_title(ref[0] or space, ref[1], expand="body.storage")
            body = ((page or {}).get("body") or {}).get("storage", {}).get("value") if page else None
            self._bodies[ref] = body
            if body:
                await self._prefetch_includes(body, ref[0] or space, depth + 1)

    # --- permissions --------------------------------------------------------------------------------------
    async def _access(self, item: dict[str, Any]) -> list[str]:
        own = ((item.get("restrictions") or {}).get("read") or {}).get("restrictions")
        if own is None:
            own = (await self.client.read_restrictions(str(item["id"])) or {}).get("restrictions") or {}
        levels = [own]
        for ancestor in item.get("ancestors") or []:
            aid = str(ancestor["id"])
            if aid not in self._restrictions:
                data = await self.client.read_restrictions(aid)
                self._restrictions[aid] = [(data or {}).get("restrictions") or {}]
            levels.extend(self._restrictions[aid])
        restricted = [lvl for lvl in levels if _users_of(lvl) or _groups_of(lvl)]
        if not restricted:
            return []
        if len(restricted) == 1:
            lvl = restricted[0]
            principals = [await self._user_principal(u) for u in _users_of(lvl)]
            principals += [group_principal(g) for g in _groups_of(lvl)]
            return sorted(set(principals)) or [NOBODY]
        allowed: set[str] | None = None
        for lvl in restricted:
            people = {await self._user_principal(u) for u in _users_of(lvl)}
            for group in _groups_of(lvl):
                people |= {await self._user_principal(m) for m in await self._group_members(group)}
            allowed = people if allowed is None else allowed & people
        return sorted(allowed or []) or [NOBODY]

    async def _user_principal(self, user: dict[str, Any]) -> str:
        email = user.get("email")
        key = str(user.get("accountId") or user.get("username") or user.get("userKey") or "")
        if not email and key:
            email = ((await self._user(key)) or {}).get("email")
        return user_principal(str(email)) if email else f"user-id:{key}"

    async def _group_members(self, group: str) -> list[dict[str, Any]]:
        if group not in self._members:
            self._members[group] = await self.client.group_members(group)  # type: ignore[assignment]
        return self._members[group]  # type: ignore[return-value]

    async def _store_groups(self, pages: dict[str, list[Any]]) -> None:
        """Members of every group that guards a page: e-mail → groups, read when a person asks."""
        groups = sorted({a[6:] for v in pages.values() for a in v[1] if a.startswith("group:")})
        by_email: dict[str, list[str]] = {}
        for group in groups:
            for member in await self._group_members(group):
                principal = await self._user_principal(member)
                if principal.startswith("user:"):
                    by_email.setdefault(principal[5:], []).append(group)
        await self.checkpoints.put(GROUPS_CHECKPOINT, {"members": by_email})


def _users_of(level: dict[str, Any]) -> list[dict[str, Any]]:
    return list(((level or {}).get("user") or {}).get("results") or [])


def _groups_of(level: dict[str, Any]) -> list[str]:
    groups = ((level or {}).get("group") or {}).get("results") or []
    return [str(g.get("name")) for g in groups if g.get("name")]


def client_from_settings(settings: ConfluenceSettings, **kwargs: Any) -> ConfluenceClient:
    if not settings.url or settings.token is None:
        raise ValueError("confluence.url and confluence.token must be set")
    return ConfluenceClient(
        settings.url,
        kind=settings.kind,
        token=settings.token.get_secret_value(),
        email=settings.email,
        page_size=settings.page_size,
        max_retries=settings.max_retries,
        retry_after_max=settings.retry_after_max,
        timeout=settings.timeout,
        **kwargs,
    )
