"""``opora tokens``: create prints the token on its last line, list never shows it, revoke ends it."""

from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from bot.cli import app as cli
from bot.tokens import Tokens
from storage.db import Database


def test_tokens_create_list_revoke(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OPORA_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    created = runner.invoke(cli, ["tokens", "create", "ci-bot", "--scopes", "ask,admin"])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    assert token.startswith("opora_") and len(token) > 40 and " " not in token

    async def verify(value: str):
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'opora.db'}")
        try:
            return await Tokens(db).verify(value)
        finally:
            await db.close()

    info = asyncio.run(verify(token))
    assert info is not None and info.name == "ci-bot" and info.scopes == ("ask", "admin")

    listed = runner.invoke(cli, ["tokens", "list"])
    assert listed.exit_code == 0 and "ci-bot" in listed.output and "ask,admin" in listed.output
    assert token not in listed.output and token[:12] in listed.output

    twice = runner.invoke(cli, ["tokens", "create", "ci-bot"])
    assert twice.exit_code == 2 and "already named" in twice.output
    bad = runner.invoke(cli, ["tokens", "create", "x", "--scopes", "ask,root"])
    assert bad.exit_code == 2 and "root" in bad.output

    revoked = runner.invoke(cli, ["tokens", "revoke", "ci-bot"])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    assert asyncio.run(verify(token)) is None
    assert runner.invoke(cli, ["tokens", "revoke", "ci-bot"]).exit_code == 2
    assert "ci-bot" not in runner.invoke(cli, ["tokens", "list"]).output
    assert "ci-bot" in runner.invoke(cli, ["tokens", "list", "--revoked"]).output
    again = runner.invoke(cli, ["tokens", "create", "ci-bot"])  # the name is free again
    assert again.exit_code == 0 and again.output.strip().splitlines()[-1] != token
