"""API tokens: created and revoked by the operator (``opora tokens``), checked on every REST call.

A token is ``opora_`` followed by 43 random URL-safe characters (256 bits). Only its SHA-256 is stored: a
leaked database does not leak usable tokens, and since tokens are random a plain (fast) hash is enough.
Scopes: ``ask`` (``POST /api/v1/ask``), ``feedback`` (``POST /api/v1/feedback``), ``admin`` (operator
routes such as analytics).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import InvalidInput, NotFound
from storage.db import Database
from storage.models import ApiToken
from storage.repositories import tokens as repo

SCOPES: tuple[str, ...] = ("ask", "feedback", "admin")
DEFAULT_SCOPES: tuple[str, ...] = ("ask", "feedback")
PREFIX = "opora_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as the operator and the API see it (never the secret)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    rate_per_minute: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiToken) -> TokenInfo:
        return cls(
            row.id,
            row.name,
            row.prefix,
            tuple(row.scopes or ()),
            row.rate_per_minute,
            row.created_at,
            row.last_used_at,
            row.revoked_at,
        )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"ask,feedback"`` → ``("ask", "feedback")``; unknown scopes are refused."""
    items = text.split(",") if isinstance(text, str) else list(text)
    scopes = tuple(dict.fromkeys(s.strip().lower() for s in items if s.strip()))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise InvalidInput(
            f"Unknown or empty scopes {unknown}; choose from {', '.join(SCOPES)}.",
            f"Неизвестные или пустые права {unknown}; возможны: {', '.join(SCOPES)}.",
        )
    return scopes


class Tokens:
    """Token administration and verification over the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, name: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, *, rate_per_minute: int | None = None
    ) -> tuple[TokenInfo, str]:
        """A new token named ``name``: its record and the token itself (shown once, never stored)."""
        if not NAME_RE.match(name):
            raise InvalidInput(
                "A token name is 1-64 letters, digits, '.', '_' or '-'.",
                "Имя токена — 1-64 латинские буквы, цифры, '.', '_' или '-'.",
            )
        scopes = parse_scopes(scopes)
        token = PREFIX + secrets.token_urlsafe(32)
        async with self.db.session() as s:
            if await repo.live_token_named(s, name=name) is not None:
                raise InvalidInput(
                    f"A live token is already named {name!r}; revoke it first.",
                    f"Действующий токен с именем {name!r} уже есть; сначала отзовите его.",
                )
            row = await repo.add_token(
                s,
                name=name,
                token_hash=hash_token(token),
                prefix=token[: len(PREFIX) + 6],
                scopes=list(scopes),
                rate_per_minute=rate_per_minute,
            )
            info = TokenInfo.of(row)
        return info, token

    async def list(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        async with self.db.session() as s:
            return [TokenInfo.of(r) for r in await repo.list_tokens(s, include_revoked=include_revoked)]

    async def revoke(self, name_or_id: str) -> list[TokenInfo]:
        """Revoke a live token by name or id; ``NotFound`` when none matches."""
        async with self.db.session() as s:
            rows = await repo.revoke_token(s, name_or_id=name_or_id)
            revoked = [TokenInfo.of(r) for r in rows]
        if not revoked:
            raise NotFound(f"No live token {name_or_id!r}.", f"Действующего токена {name_or_id!r} нет.")
        return revoked

    async def verify(self, token: str) -> TokenInfo | None:
        """The live token ``token`` is, or ``None`` (unknown, revoked or malformed)."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        async with self.db.session() as s:
            row = await repo.token_by_hash(s, token_hash=hash_token(token))
            if row is None:
                return None
            await repo.touch_token(s, token_id=row.id, every=TOUCH_EVERY)
            return TokenInfo.of(row)
