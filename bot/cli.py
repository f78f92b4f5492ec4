"""The ``opora`` command: serve, migrate, ingest, ask, eval, demo-llm."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.cli_tokens import app as tokens_app
from bot.config import Settings
from bot.logging import configure_logging

app = typer.Typer(help="Opora: answers developers' questions from the company's documentation.")
app.add_typer(tokens_app, name="tokens")
console = Console()
T = TypeVar("T")


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValueError as exc:
        console.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, json=settings.log_json)
    return settings


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from bot.app import build_services, close_services

    async def main() -> T:
        services = await build_services(settings)
        try:
            return await work(services)
        finally:
            await close_services(services)

    return asyncio.run(main())


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings).")] = None,
) -> None:
    """Start the HTTP API, the web chat and every configured messenger; index the KB in the background."""
    import uvicorn

    from bot.app import create_app

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.server.host,
        port=port or settings.server.port,
        log_config=None,
        ws="websockets-sansio",
        ws_max_size=settings.server.ws_max_size,
        proxy_headers=False,  # applied inside the app (adapters/edge.py), after the TCP peer is recorded
    )


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest migration, then exit (before starting new replicas)."""
    from storage.db import Database

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def work() -> tuple[str | None, str | None]:
        db = Database(settings.resolved_database_url)
        try:
            before = await db.revision()
            await db.migrate()
            return before, await db.revision()
        finally:
            await db.close()

    try:
        before, after = asyncio.run(work())
    except Exception as exc:
        console.print(f"[red]Migration failed:[/red] {type(exc).__name__}: {exc}", markup=True)
        raise typer.Exit(1) from exc
    state = "already at head" if before == after else f"{before or 'empty'} → {after}"
    console.print(f"database schema: {state} ({after})", markup=False, highlight=False)


@app.command(name="demo-llm")
def demo_llm(
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8081,
) -> None:
    """Serve a keyless OpenAI-compatible chat API for demos: it quotes the passages it is given, cited."""
    import uvicorn

    from providers.demo_server import create_app

    configure_logging("INFO")
    uvicorn.run(create_app(), host=host, port=port, log_config=None)


@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="Folders of Markdown/text/HTML files.")]) -> None:
    """Index folders incrementally: unchanged files are skipped, removed ones leave the index."""
    from bot.ingest_job import ingest_paths

    for path in paths:
        if not path.is_dir():
            console.print(f"[red]Not a folder:[/red] {path}")
            raise typer.Exit(2)
    settings = _settings()

    async def work(services: Any) -> dict[str, int]:
        with Progress(
            TextColumn("[bold]indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("docs"),
            TextColumn("{task.fields[chunks]} chunks"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("ingest", total=None, chunks=0)

            def show(p: Any) -> None:
                bar.update(task, completed=p.docs_done, total=p.docs_total or None, chunks=p.chunks_done)

            return await ingest_paths(services, list(paths), on_progress=show)

    stats = _run(settings, work)
    console.print(", ".join(f"{k}: {v}" for k, v in stats.items()))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in Russian or English.")],
    lang: Annotated[str | None, typer.Option(help="Force the reply language: ru or en.")] = None,
) -> None:
    """Ask one question and print the answer with its sources."""
    from bot.errors import OporaError
    from bot.types import Incoming, Platform, SessionKey, UserRef
    from rag.urls import http_url

    settings = _settings()
    incoming = Incoming(
        text=question,
        user=UserRef(platform=Platform.CLI, external_id="cli"),
        session=SessionKey(platform=Platform.CLI, channel="cli", thread=str(abs(hash(question)))),
        lang=lang if lang in ("ru", "en") else None,  # type: ignore[arg-type]
    )
    try:
        answer = _run(settings, lambda services: services.engine.ask(incoming))
    except OporaError as exc:
        console.print(f"[red]{exc.message('en')}[/red]")
        raise typer.Exit(2) from exc
    console.print(answer.text, markup=False, highlight=False)
    if answer.notice:
        console.print(f"\n[yellow]{answer.notice}[/yellow]")
    if answer.sources:
        console.print("\n[bold]Sources[/bold]")
        for number, src in enumerate(answer.sources, start=1):
            where = http_url(src.url) or src.path or ""
            section = f" › {src.section}" if src.section else ""
            console.print(f"[{number}] {src.title}{section} — {where} (score {src.score:.3f})", markup=False)
    console.print(f"\n[dim]{answer.latency_ms} ms[/dim]")


@app.command(name="eval")
def evaluate_cmd(
    file: Annotated[
        Path, typer.Argument(help="JSONL questions or threads (shared/eval/dev.jsonl, dev-multiturn.jsonl).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
) -> None:
    """Measure retrieval (hit@1, hit@5, MRR@10, a right page among the sources), key facts, answer length,
    abstain/escalate and latency; threads report first turns and follow-ups apart."""
    from bot.evaluation import evaluate, load_items, report_json

    if not file.is_file():
        console.print(f"[red]No such file:[/red] {file}")
        raise typer.Exit(2)
    items = load_items(file)[:limit]
    settings = _settings()
    report = _run(settings, lambda services: evaluate(services, items))
    if as_json:
        sys.stdout.write(report_json(report) + "\n")
        return
    table = Table(title=f"opora eval: {file.name} ({len(items)} questions)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in report.metrics().items():
        for name, v in value.items() if isinstance(value, dict) else [(None, value)]:
            table.add_row(f"{key} · {name}" if name else key, json.dumps(v))
    console.print(table)


sync_app = typer.Typer(help="Bring a remote source's pages into the index.")
app.add_typer(sync_app, name="sync")


@sync_app.command("confluence")
def sync_confluence_cmd(
    full: Annotated[
        bool, typer.Option("--full", help="List every page (not only recent edits) and reconcile deletions.")
    ] = False,
) -> None:
    """Sync the configured Confluence spaces: pages seen / changed / deleted / errors."""
    from bot.confluence_sync import sync_confluence
    from rag.loaders.confluence_client import ConfluenceError

    settings = _settings()
    if not settings.confluence.enabled:
        console.print(
            "[red]Confluence is not configured:[/red] set confluence.url, confluence.token, confluence.spaces"
        )
        raise typer.Exit(2)

    async def work(services: Any) -> Any:
        with Progress(
            TextColumn("[bold]confluence"),
            BarColumn(),
            TextColumn("seen {task.fields[seen]} · changed {task.fields[changed]}"),
            TextColumn("· deleted {task.fields[deleted]} · errors {task.fields[errors]}"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("sync", total=None, seen=0, changed=0, deleted=0, errors=0)

            def show(stats: Any) -> None:
                bar.update(task, **{k: getattr(stats, k) for k in ("seen", "changed", "deleted", "errors")})

            stats = await sync_confluence(services, full=full, on_progress=show, record=True)
            show(stats)
            return stats

    try:
        stats = _run(settings, work)
    except ConfluenceError as exc:
        console.print(f"[red]Confluence sync failed; nothing was deleted:[/red] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"pages seen: {stats.seen}, changed: {stats.changed}, deleted: {stats.deleted}, "
        f"errors: {stats.errors}"
        + (f", NOT deleted (mass-deletion guard): {stats.guarded}" if stats.guarded else "")
        + f" · chunks embedded: {stats.embedded} of {stats.chunks} · {stats.seconds:.1f} s"
    )


@app.command()
def jobs(
    limit: Annotated[int, typer.Option(help="How many recent runs to list.")] = 20,
    job: Annotated[str | None, typer.Option(help="Only this job's runs.")] = None,
    run: Annotated[str | None, typer.Option(help="Run this job once now, then list.")] = None,
) -> None:
    """Scheduled jobs: the last run of each, then recent runs (job, start, end, outcome, counts)."""
    from bot.jobs_report import print_jobs

    settings = _settings()
    if run is not None:

        async def once(services: Any) -> str:
            if run not in services.scheduler.jobs:
                known = ", ".join(sorted(services.scheduler.jobs)) or "none"
                console.print(f"[red]No job {run!r}.[/red] Registered: {known}")
                raise typer.Exit(2)
            return await services.scheduler.run_now(run)

        console.print(f"{run}: {_run(settings, once)}")
    asyncio.run(print_jobs(settings, console, limit=limit, job=job))


@app.command()
def calibrate(
    file: Annotated[Path, typer.Argument(help="Labelled questions: expect answer or abstain (eval format).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; store nothing.")] = False,
) -> None:
    """Refit the relevance calibration and abstain threshold for the configured embedder (2-fold CV shown)."""
    from bot.calibrate import calibrate as run_calibration
    from bot.evaluation import load_items

    if not file.is_file():
        console.print(f"[red]No such file:[/red] {file}")
        raise typer.Exit(2)
    items = load_items(file)
    settings = _settings()
    try:
        report = _run(settings, lambda services: run_calibration(services, items, dry_run=dry_run))
    except ValueError as exc:
        console.print(f"[red]Cannot calibrate:[/red] {exc}")
        raise typer.Exit(2) from exc
    sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
