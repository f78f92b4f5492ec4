"""CSV exports of the analytics tables. User ids never leave as they are: they are replaced by a keyed hash.

The hash is HMAC-SHA256 under a secret generated once and kept in the database (``kv_settings``), so the same
person has the same pseudonym in every export (rows can be joined) but the id cannot be recovered by hashing
guessed names.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from storage.db import Database
from storage.repositories import kv

SALT_KEY = "analytics.user_hash_secret"


class UserHasher:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._key: bytes | None = None

    async def key(self) -> bytes:
        if self._key is None:
            async with self.db.session() as s:
                value = await kv.get_or_set(s, key=SALT_KEY, default=secrets.token_hex(32))
            self._key = value.encode()
        return self._key

    async def hash(self, user_key: str | None) -> str | None:
        if user_key is None:
            return None
        return "u_" + hmac.new(await self.key(), user_key.encode(), hashlib.sha256).hexdigest()[:16]


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """``rows`` as CSV (header first); nested values as JSON; formula-looking cells are defused."""
    rows = list(rows)
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    # a cell starting with = + - @ is run as a formula by spreadsheets (CSV injection); numbers stay numbers
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        text = "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
