"""The ``opora`` command: serve, ingest, ask, eval."""

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
    file: Annotated[Path, typer.Argument(help="JSONL questions (the format of shared/eval/dev.jsonl).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
) -> None:
    """Measure retrieval (hit@1, hit@5, MRR@10), key facts, abstain/escalate and latency."""
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
        table.add_row(key, json.dumps(value))
    console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
