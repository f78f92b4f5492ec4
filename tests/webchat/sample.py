"""A small sample knowledge base and a core (``Services``) built on it, for web chat tests and the bench.

Until the lead's ``core`` fixture (real retrieval) is in ``tests/conftest.py``, retrieval here is a keyword
retriever speaking the engine's ``Retriever`` protocol; everything else is the real core (engine, sessions,
storage, the extractive generator, streamed word by word like an LLM would).
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.commands import Commands
from bot.config import Settings
from bot.engine import Engine
from bot.escalation import CriticalDetector, LogEscalator
from bot.extractive import ExtractiveGenerator, terms
from bot.generation import AnswerGenerator, GenerationEvent, GenerationRequest, TextDelta
from bot.indexing import IndexStatus
from bot.services import Services
from rag.types import Chunk, ScoredChunk
from storage.db import Database

KB_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "kb"
SAMPLE_FILES = (
    "helm/en/intro/quickstart.md",
    "helm/en/intro/using_helm.md",
    "helm/en/intro/install.md",
    "helm/ru/intro/quickstart.md",
    "helm/ru/intro/using_helm.md",
    "helm/en/topics/charts_hooks.md",
)
INJECTED_DOC = """---
title: "Badge <img src=x onerror=alert(1)> widget"
lang: en
---

## Rendering badges

The badge widget once shipped this snippet, which must stay plain text: <img src=x onerror="window.__xss=1">
and <script>window.__xss=2</script>.

```html
<img src=x onerror="window.__xss=3">
```
"""


def make_sample_kb(target: Path) -> Path:
    """Copy the sample documents (and one with injected HTML) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    for rel in SAMPLE_FILES:
        src = KB_ROOT / rel
        if src.is_file():
            dest = target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
    (target / "badges.md").write_text(INJECTED_DOC, encoding="utf-8")
    return target


_HEADING = re.compile(r"^(#{1,3})\s+(.*)$", re.M)
_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def load_chunks(root: Path) -> list[Chunk]:
    """Markdown files split at headings (code blocks kept whole)."""
    chunks: list[Chunk] = []
    for path in sorted(root.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        meta: dict[str, str] = {}
        front = _FRONT.match(text)
        if front:
            for line in front.group(1).splitlines():
                if ":" in line:
                    k, v = line.split(":", 1)
                    meta[k.strip()] = v.strip().strip('"')
            text = text[front.end() :]
        title = meta.get("title", path.stem)
        rel = str(path.relative_to(root))
        sections = _sections(text)
        for ordinal, (heading, body) in enumerate(sections):
            if body.strip():
                chunks.append(
                    Chunk(
                        f"{rel}#{ordinal}",
                        rel,
                        ordinal,
                        body.strip(),
                        title,
                        [heading] if heading else [],
                        meta.get("lang"),
                        meta.get("source_url"),
                        rel,
                        "sample",
                    )
                )
    return chunks


def _sections(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    heading, lines, in_code = "", [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match:
            out.append((heading, "\n".join(lines)))
            heading, lines = match.group(2).strip(), []
        else:
            lines.append(line)
    out.append((heading, "\n".join(lines)))
    return out


@dataclass(slots=True)
class Outcome:
    chunks: list[ScoredChunk]
    passed: bool


class KeywordRetriever:
    """Term overlap weighted by rarity: enough to answer the sample questions, and fast."""

    def __init__(self, chunks: list[Chunk], min_score: float = 4.0) -> None:
        self.chunks = chunks
        self.terms = [terms(c.index_text()) for c in chunks]
        df: dict[str, int] = {}
        for ts in self.terms:
            for term in ts:
                df[term] = df.get(term, 0) + 1
        self.idf = {k: math.log(1 + len(chunks) / v) for k, v in df.items()}
        self.min_score = min_score

    async def retrieve(
        self, query: str, *, lang: str | None = None, limit: int | None = None, access: object = None
    ) -> Outcome:
        q = terms(query)
        scored = []
        for chunk, ts in zip(self.chunks, self.terms, strict=True):
            score = sum(self.idf[t] for t in q & ts)
            if score > 0:
                scored.append(ScoredChunk(chunk, score))
        scored.sort(key=lambda s: -s.score)
        top = scored[: limit or 5]
        return Outcome(top, bool(top) and top[0].score >= self.min_score)


class WordStreamer:
    """The extractive answer streamed a few words at a time, as an LLM would stream tokens."""

    name = "extractive"

    def __init__(self, inner: ExtractiveGenerator, words: int = 6) -> None:
        self.inner = inner
        self.words = words

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        async for event in self.inner.generate(request):
            if isinstance(event, TextDelta):
                pieces = re.findall(r"\S+\s*|\s+", event.text)
                for i in range(0, len(pieces), self.words):
                    yield TextDelta("".join(pieces[i : i + self.words]))
            else:
                yield event


class GatedGenerator:
    """Streams its first words, then waits for ``gate`` before the rest (to drop a socket mid-answer)."""

    name = "extractive"

    def __init__(self, inner: WordStreamer) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        first = True
        async for event in self.inner.generate(request):
            yield event
            if first:
                first = False
                self.waiting.set()
                await self.gate.wait()


async def build_services(
    data_dir: Path, kb: Path, generator: AnswerGenerator | None = None, **webchat: Any
) -> Services:
    """A migrated SQLite database in ``data_dir`` and an engine over the documents in ``kb``."""
    settings = Settings(data_dir=data_dir, webchat=webchat, kb={"paths": [kb], "ingest_on_start": False})
    db = Database(settings.resolved_database_url)
    await db.migrate()
    index = IndexStatus()
    chunks = load_chunks(kb)
    index.begin(["sample"])
    index.progress(docs_done=len(chunks), docs_total=len(chunks), chunks_done=len(chunks))
    index.finish()
    engine = Engine(
        db=db,
        retriever=KeywordRetriever(chunks),
        generator=generator or WordStreamer(ExtractiveGenerator()),
        escalator=LogEscalator(),
        detector=CriticalDetector(),
        index=index,
        max_question_chars=settings.answer.max_question_chars,
    )
    return Services(settings=settings, db=db, engine=engine, commands=Commands(engine), index=index)
