"""Replicas share the leader's ru→en lexicon files through the database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from bot.lexicon_sync import publish, pull
from rag.lexicon import Lexicon, LexiconFiles, lexicon_file
from rag.sparse import terms


async def test_a_follower_gets_the_leaders_lexicon_and_its_updates(db, tmp_path: Path) -> None:
    leader_dir, follower_dir = tmp_path / "leader", tmp_path / "follower"
    leader_dir.mkdir()
    published = lexicon_file(leader_dir, "/kb")
    published.write_text('{"v": 1}', "utf-8")
    assert await publish(db, leader_dir) == 1
    assert await publish(db, leader_dir) == 0  # unchanged: nothing to store
    assert await pull(db, follower_dir) == 1
    assert (follower_dir / published.name).read_text("utf-8") == '{"v": 1}'
    assert await pull(db, follower_dir) == 0
    published.write_text('{"v": 2}', "utf-8")  # the next ingest learned more
    await publish(db, leader_dir)
    assert await pull(db, follower_dir) == 1
    assert (follower_dir / published.name).read_text("utf-8") == '{"v": 2}'
    assert not list(follower_dir.glob("*.tmp"))


async def test_a_pulled_lexicon_is_what_the_retriever_reads(db, tmp_path: Path) -> None:
    leader_dir, follower_dir = tmp_path / "leader", tmp_path / "follower"
    leader_dir.mkdir()
    files = LexiconFiles(follower_dir)  # the follower's retriever reads this folder
    (stem,) = terms("откатить")
    assert files.translate("откатить") == {}
    Lexicon({stem: [("rollback", 0.9)]}).save(lexicon_file(leader_dir, "/kb"))  # the leader's ingest
    await publish(db, leader_dir)
    await pull(db, follower_dir)
    assert files.translations("откатить") == {stem: frozenset({"rollback"})}
