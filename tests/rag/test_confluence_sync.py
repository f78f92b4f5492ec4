"""Confluence sync against the fake (Cloud and Server): a scripted history of a wiki, and after every step
the index holds exactly the fake's current pages — nothing stale, missing, duplicated or leaked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from rag.access import AccessScope
from rag.ingest import Ingestor
from rag.sparse import query_vector
from rag.stores.edge import EdgeStore
from rag.sync.confluence import ConfluenceSync, SyncStats, client_from_settings
from rag.sync.settings import ConfluenceSettings
from storage.db import Database
from storage.repositories.documents import SqlDocumentCatalog
from storage.repositories.jobs import SqlCheckpoints
from tests.conftest import KB_ROOT
from tests.fakes.confluence_server import FakeConfluence
from tests.rag.conftest import HashEmbedder

MACROS = Path(__file__).resolve().parents[1] / "fakes" / "confluence_pages" / "macros.xml"
KB_PAGES = ("werf/en/reference/debug_env_vars.md", "helm/en/helm/helm_rollback.md")
EVERYONE = AccessScope(frozenset({"user:anna@example.com", "user:boris@example.com", "group:sre"}))
ANNA = AccessScope.for_user("anna@example.com", ["sre"])
BORIS = AccessScope.for_user("boris@example.com")


class Wiki:
    """The fake, the index and the sync, with helpers that compare them."""

    def __init__(self, fake: FakeConfluence, db: Database, tmp: Path, **settings: object) -> None:
        self.fake, self.db = fake, db
        self.settings = ConfluenceSettings(
            url=fake.url,
            kind=fake.kind,  # type: ignore[arg-type]
            spaces=["OPS", "DEV"],
            email="bot@example.com",
            token="tok",  # type: ignore[arg-type]
            page_size=3,
            retry_after_max=0.05,
            overlap_minutes=2,
            **settings,  # type: ignore[arg-type]
        )
        self.embedder = HashEmbedder()
        self.store = EdgeStore(tmp / "index")
        self.ingestor = Ingestor(SqlDocumentCatalog(db), self.embedder, self.store)
        self.sleeps: list[float] = []

    async def sleep(self, s: float) -> None:
        self.sleeps.append(s)

    async def sync(self, *, full: bool = False) -> SyncStats:
        async with client_from_settings(self.settings, sleep=self.sleep, backoff=0.01) as client:
            checkpoints = SqlCheckpoints(self.db)
            sync = ConfluenceSync(
                self.settings, client, self.ingestor, checkpoints, now=lambda: self.fake.now
            )
            return await sync.run(full=full)

    async def indexed(self) -> dict[str, str]:
        """Every indexed page id → its title, from the catalog."""
        states = await self.ingestor.catalog.states("confluence")
        return {ext: ext for ext in states}

    def live(self) -> set[str]:
        return {p.id for p in self.fake.pages.values() if p.space in self.settings.spaces}

    async def assert_matches(self) -> None:
        """The index holds exactly the fake's live pages, each findable by its unique token and only that."""
        assert set(await self.indexed()) == self.live()
        for page in self.fake.pages.values():
            token = f"tok{page.id}"
            want = {page.id} if page.space in self.settings.spaces and token in page.body else set()
            got = await self.found_ids(token)
            assert got == want, (page.id, page.title, got, want)

    async def found_ids(self, token: str, scope: AccessScope | None = EVERYONE) -> set[str]:
        hits = await self.store.sparse_query(query_vector(token), limit=100, access=scope)
        docs = await self.ingestor.catalog.states("confluence")
        by_doc = {s.doc_id: ext for ext, s in docs.items()}
        return {by_doc.get(h.chunk.doc_id, "?") for h in hits if h.chunk.kind != "card"}


def body(pid_token: str, text: str) -> str:
    return f"<h2>Section</h2><p>{text} {pid_token}</p>"


@pytest.fixture(params=["cloud", "server"])
async def wiki(request: pytest.FixtureRequest, sqlite_db: Database, tmp_path: Path) -> AsyncIterator[Wiki]:
    fake = FakeConfluence(request.param)
    await fake.start()
    fake.add_user(
        "acc-anna" if fake.kind == "cloud" else "anna", "Anna Petrova", "anna@example.com", ("sre",)
    )
    fake.add_user("acc-boris" if fake.kind == "cloud" else "boris", "Boris Ivanov", "boris@example.com")
    w = Wiki(fake, sqlite_db, tmp_path)
    try:
        yield w
    finally:
        await w.store.close()
        await fake.close()


def add(fake: FakeConfluence, space: str, title: str, text: str, **kw: object) -> str:
    pid = fake.add_page(space, title, "", **kw)  # type: ignore[arg-type]
    fake.pages[pid].body = body(f"tok{pid}", text)
    return pid


async def test_a_scripted_history_keeps_the_index_equal_to_the_wiki(wiki: Wiki) -> None:
    fake = wiki.fake
    anna = "acc-anna" if fake.kind == "cloud" else "anna"
    # The wiki: plain pages, KB pages in storage format, the macro page, a restricted subtree.
    pages = [
        add(fake, "OPS", f"Runbook {i}", f"Runbook number {i} kickstarts the apiserverz.") for i in range(4)
    ]
    for rel in KB_PAGES:
        if (KB_ROOT / rel).is_file():
            pid = fake.add_markdown("DEV", rel.rsplit("/", 1)[1], (KB_ROOT / rel).read_text())
            fake.pages[pid].body += f"<p>tok{pid}</p>"
    macro = fake.add_page("OPS", "Deploy runbook", MACROS.read_text())
    fake.pages[macro].body += f"<p>tok{macro}</p>"
    secret = add(fake, "OPS", "SRE secrets", "The break-glass password rotates monthly.", groups=["sre"])
    child = add(fake, "OPS", "SRE child", "Child of the restricted page: vault unseal steps.", parent=secret)

    stats = await wiki.sync(full=True)
    assert stats.errors == 0 and stats.deleted == 0 and stats.changed == len(wiki.live())
    await wiki.assert_matches()
    # Restricted: own (group) and inherited (the child) — only a reader of the group sees them.
    assert await wiki.found_ids(f"tok{secret}", None) == set()
    assert await wiki.found_ids(f"tok{child}", BORIS) == set()
    assert await wiki.found_ids(f"tok{child}", ANNA) == {child}
    assert await wiki.found_ids(f"tok{secret}", AccessScope.for_user("x@example.com", ["sre"])) == {secret}

    # Nothing changed: nothing is fetched or embedded.
    embedded = len(wiki.embedder.embedded)
    stats = await wiki.sync()
    assert (stats.changed, stats.chunks, len(wiki.embedder.embedded)) == (0, 0, embedded)

    # Create.
    fake.tick(5)
    new = add(fake, "DEV", "Fresh page", "A brand new page about canary releases.")
    stats = await wiki.sync()
    assert stats.changed == 1
    await wiki.assert_matches()

    # Edit: the new text is found, the old is gone; only the changed section is embedded again.
    fake.tick(5)
    before = len(wiki.embedder.embedded)
    fake.edit(pages[0], body=body(f"tok{pages[0]}", "Runbook zero now drains the queue first."))
    stats = await wiki.sync()
    assert stats.changed == 1 and len(wiki.embedder.embedded) - before <= stats.chunks
    assert await wiki.found_ids("drains") == {pages[0]}
    assert await wiki.found_ids("kickstarts") == set(pages[1:])
    await wiki.assert_matches()

    # Move within the configured spaces (same id, new place) and out of them (gone after reconcile).
    fake.tick(5)
    fake.move(new, space="OPS")
    fake.move(pages[3], space="ARCHIVE")
    await wiki.sync()
    assert await wiki.found_ids(f"tok{new}") == {new}
    stats = await wiki.sync(full=True)
    assert stats.deleted == 1
    await wiki.assert_matches()

    # Restrict (Confluence keeps the version): the reconcile pass sees the new permissions.
    fake.restrict(pages[1], users=[anna])
    await wiki.sync(full=True)
    assert await wiki.found_ids(f"tok{pages[1]}", None) == set()
    assert await wiki.found_ids(f"tok{pages[1]}", ANNA) == {pages[1]}
    assert await wiki.found_ids(f"tok{pages[1]}", BORIS) == set()
    await wiki.assert_matches()

    # Delete.
    fake.delete(pages[2])
    stats = await wiki.sync(full=True)
    assert stats.deleted == 1
    await wiki.assert_matches()


async def test_mass_deletion_is_refused_until_accepted(wiki: Wiki) -> None:
    fake = wiki.fake
    wiki.settings.mass_delete_min = 2
    wiki.settings.mass_delete_ratio = 0.5
    ids = [add(fake, "OPS", f"Page {i}", f"Page {i} text.") for i in range(6)]
    await wiki.sync(full=True)
    for pid in ids[:5]:  # most of the space vanishes at once (an outage, a permission change?)
        fake.delete(pid)
    stats = await wiki.sync(full=True)
    assert stats.guarded == 5 and stats.deleted == 0
    assert set(await wiki.indexed()) == set(ids)  # nothing was deleted
    wiki.settings.mass_delete_ratio = 1.0  # the operator accepts it
    stats = await wiki.sync(full=True)
    assert stats.deleted == 5
    await wiki.assert_matches()


async def test_an_outage_mid_sync_deletes_nothing_and_the_next_run_catches_up(wiki: Wiki) -> None:
    from rag.loaders.confluence_client import ConfluenceUnavailable

    fake = wiki.fake
    ids = [add(fake, "OPS", f"Page {i}", f"Page {i} text.") for i in range(7)]
    await wiki.sync(full=True)
    fake.tick(5)
    for pid in ids:
        fake.edit(pid, body=body(f"tok{pid}", "Edited during the outage window."))
    fake.delete(ids[0])
    fake.outage_after(4)  # a few answers, then every request fails
    with pytest.raises(ConfluenceUnavailable):
        await wiki.sync(full=True)
    assert set(await wiki.indexed()) == set(ids)  # the failed run deleted nothing
    fake.outage_after(None)
    await wiki.sync(full=True)
    await wiki.assert_matches()
    assert await wiki.found_ids("outage") == set(ids[1:])


async def test_rate_limits_and_server_errors_are_retried(wiki: Wiki) -> None:
    fake = wiki.fake
    ids = [add(fake, "OPS", f"Page {i}", f"Page {i} text.") for i in range(5)]
    fake.fail(429, 2, retry_after="30", match="content/search")  # clamped to retry_after_max (0.05 s)
    fake.fail(503, 1, retry_after="1", match="/content/")
    fake.fail(500, 2, match="content/search")
    stats = await wiki.sync(full=True)
    assert stats.changed == 5 and stats.errors == 0
    assert max(wiki.sleeps) <= 0.05 and len(wiki.sleeps) >= 5
    # after the 500s the listing asked for smaller pages
    assert any("limit=1" in r for r in fake.requests if "content/search" in r)
    await wiki.assert_matches()
    assert set(await wiki.indexed()) == set(ids)


async def test_bad_credentials_stop_the_run_with_a_clear_message(wiki: Wiki) -> None:
    from rag.loaders.confluence_client import ConfluenceAuthError

    add(wiki.fake, "OPS", "Page", "text")
    wiki.settings.token = SecretStr("wrong")
    with pytest.raises(ConfluenceAuthError, match=r"confluence\.token"):
        await wiki.sync(full=True)
    assert await wiki.indexed() == {}


async def test_a_new_embedder_reindexes_every_page_even_in_an_incremental_run(wiki: Wiki) -> None:
    ids = [add(wiki.fake, "OPS", f"Page {i}", f"Page {i} text.") for i in range(3)]
    await wiki.sync(full=True)
    embedder = HashEmbedder()
    embedder.name = "hash-test-2"
    wiki.ingestor = Ingestor(SqlDocumentCatalog(wiki.db), embedder, wiki.store)
    stats = await wiki.sync()
    assert stats.changed == 3 and len(embedder.embedded) >= 3
    assert (await wiki.sync()).changed == 0
    assert set(await wiki.indexed()) == set(ids)


async def test_a_slow_answer_times_out_and_is_retried(wiki: Wiki) -> None:
    ids = [add(wiki.fake, "OPS", f"Page {i}", f"Page {i} text.") for i in range(2)]
    wiki.settings.timeout = 0.5
    wiki.fake.slow(3.0, 1, match="/content/")  # one page body takes longer than the client waits
    wiki.fake.delay = 0.01  # and every answer is a little slow
    stats = await wiki.sync(full=True)
    assert stats.changed == 2 and stats.errors == 0 and wiki.sleeps  # the timed-out request was retried
    assert set(await wiki.indexed()) == set(ids)
