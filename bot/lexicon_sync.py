"""The ru→en lexicon files, shared by replicas through the database.

The ingest learns a lexicon per source (``rag.lexicon``) and writes it under the index folder of the
process that ran it: the leader (``bot.leader``). The other replicas search the same Qdrant collection but
read lexicons from their own folder. So every ``interval`` seconds the leader publishes its lexicon files
to ``kv_settings`` (key ``lexicon-file:<file name>``), and every other replica writes the published files
that it lacks, or holds in another version, into its own folder, where ``LexiconFiles`` reloads them.
With one process (SQLite) the leader is the only reader and nothing is copied.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import structlog

from bot.leader import Leader
from storage.db import Database
from storage.repositories import kv

log = structlog.get_logger(__name__)
PREFIX = "lexicon-file:"
PATTERN = "lexicon-*.json"


def _read_all(folder: Path) -> dict[str, str]:
    return {f.name: f.read_text("utf-8") for f in sorted(folder.glob(PATTERN))}


async def publish(db: Database, folder: Path) -> int:
    """Store this process's lexicon files in the database; returns how many changed there."""
    texts = await asyncio.to_thread(_read_all, folder)
    if not texts:
        return 0
    changed = 0
    async with db.session() as s:
        stored = await kv.with_prefix(s, prefix=PREFIX)
        for name, text in texts.items():
            if stored.get(PREFIX + name) != text:
                await kv.put(s, key=PREFIX + name, value=text)
                changed += 1
    if changed:
        log.info("lexicon.published", files=changed)
    return changed


async def pull(db: Database, folder: Path) -> int:
    """Write the published lexicon files this process lacks or holds in another version."""
    async with db.session() as s:
        stored = await kv.with_prefix(s, prefix=PREFIX)

    def write() -> int:
        written = 0
        for key, text in stored.items():
            name = key[len(PREFIX) :]
            if "/" in name or not name.startswith("lexicon-"):
                continue
            target = folder / name
            if target.is_file() and target.read_text("utf-8") == text:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".tmp")
            partial.write_text(text, "utf-8")
            os.replace(partial, target)  # readers never see half a file
            written += 1
        return written

    written = await asyncio.to_thread(write)
    if written:
        log.info("lexicon.pulled", files=written)
    return written


async def run(db: Database, leader: Leader, folder: Path, *, interval: float = 30.0) -> None:
    """Publish (leader) or pull (others) every ``interval`` seconds until cancelled."""
    if leader.single:
        return  # one process: nobody to share with
    while True:
        try:
            if leader.is_leader:
                await publish(db, folder)
            else:
                await pull(db, folder)
        except Exception as exc:  # retried on the next round
            log.warning("lexicon.sync_failed", error=type(exc).__name__)
        await asyncio.sleep(interval)
