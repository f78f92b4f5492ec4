"""``opora tokens``: create, list and revoke REST API tokens (see docs/security.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from bot.config import Settings
from bot.errors import OporaError
from bot.tokens import DEFAULT_SCOPES, SCOPES, Tokens, parse_scopes
from storage.db import Database

app = typer.Typer(help="REST API tokens: create (shown once), list, revoke.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _with_tokens(work: Callable[[Tokens], Awaitable[T]]) -> T:
    from bot.cli import _settings

    settings: Settings = _settings()

    async def main() -> T:
        db = Database(settings.resolved_database_url)
        try:
            await db.migrate()
            return await work(Tokens(db))
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except OporaError as exc:
        console.print(f"[red]{exc.message('en')}[/red]")
        raise typer.Exit(2) from exc


@app.command()
def create(
    name: Annotated[str, typer.Argument(help="Who or what uses the token, e.g. ci-bot.")],
    scopes: Annotated[str, typer.Option(help=f"Comma-separated, from: {', '.join(SCOPES)}.")] = ",".join(
        DEFAULT_SCOPES
    ),
    rate_limit: Annotated[
        int | None,
        typer.Option(help="Requests per minute for this token (default: api.rate_limit_per_minute)."),
    ] = None,
) -> None:
    """Create a token; it is printed once, on the last line, and only its hash is stored."""
    try:
        wanted = parse_scopes(scopes)
    except OporaError as exc:
        console.print(f"[red]{exc.message('en')}[/red]")
        raise typer.Exit(2) from exc
    info, token = _with_tokens(lambda t: t.create(name, wanted, rate_per_minute=rate_limit))
    console.print(
        f"Created token {info.name!r} (id {info.id}, scopes {','.join(info.scopes)}). "
        "Store it now: it cannot be shown again.",
        markup=False,
    )
    typer.echo(token)


@app.command(name="list")
def list_cmd(
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked tokens.")] = False,
) -> None:
    """List tokens (never the tokens themselves: their first characters, scopes and last use)."""
    rows = _with_tokens(lambda t: t.list(include_revoked=revoked))
    # plain aligned lines, not a table: they stay whole in narrow terminals and pipe cleanly into grep
    header = ("ID", "NAME", "STARTS WITH", "SCOPES", "RATE/MIN", "CREATED", "LAST USED", "REVOKED")
    lines = [header] + [
        (
            str(r.id),
            r.name,
            r.prefix + "…",
            ",".join(r.scopes),
            "default" if r.rate_per_minute is None else str(r.rate_per_minute),
            f"{r.created_at:%Y-%m-%d %H:%M}",
            f"{r.last_used_at:%Y-%m-%d %H:%M}" if r.last_used_at else "never",
            f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "-",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    if not rows:
        typer.echo("No tokens yet: opora tokens create NAME")


@app.command()
def revoke(name_or_id: Annotated[str, typer.Argument(help="The token's name or id.")]) -> None:
    """Revoke a token at once: the next call with it gets 401."""
    revoked = _with_tokens(lambda t: t.revoke(name_or_id))
    for r in revoked:
        console.print(f"Revoked token {r.name!r} (id {r.id}).", markup=False)
