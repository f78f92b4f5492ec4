"""Shared by the benchmarks: the sample KB chunked, its embeddings cached in ``data/bench-cache``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from rag.chunking import chunk_document, document_card
from rag.lexicon import Lexicon, learn
from rag.loaders import FolderLoader
from rag.types import Chunk, Embedder

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT.parent / "shared" / "kb"
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
CACHE = ROOT / "data" / "bench-cache"


async def load_chunks(kb: Path = KB, *, cards: bool = False) -> list[Chunk]:
    """The KB's passages in document order; with ``cards``, each document's card after its passages."""
    chunks: list[Chunk] = []
    async for doc in FolderLoader(kb).load():
        part = chunk_document(doc)
        chunks.extend(part)
        if cards and (card := document_card(doc, part)) is not None:
            chunks.append(card)
    return chunks


async def load_lexicon(kb: Path = KB) -> Lexicon:
    """The ru→en lexicon learned from the KB's translated pages, as the ingestor builds it."""
    return learn([(d.path or d.external_id, d.text) async for d in FolderLoader(kb).load()])


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


async def embed_cached(embedder: Embedder, texts: list[str], *, step: int = 64) -> np.ndarray:
    """Embed ``texts`` through a per-embedder on-disk cache (saved after every ``step`` new texts)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    file = CACHE / (embedder.name.replace("/", "_").replace(":", "_") + ".npz")
    cache: dict[str, np.ndarray] = {}
    if file.exists():
        with np.load(file) as data:
            cache = dict(zip(json.loads(str(data["keys"])), data["vecs"], strict=True))
    missing = list(dict.fromkeys(t for t in texts if _key(t) not in cache))
    for i in range(0, len(missing), step):
        part = missing[i : i + step]
        vecs = await embedder.embed_passages(part)
        cache.update({_key(t): v for t, v in zip(part, vecs, strict=True)})
        keys = list(cache)
        np.savez(file, keys=json.dumps(keys), vecs=np.stack([cache[k] for k in keys]))
        print(f"  embedded {min(i + step, len(missing))}/{len(missing)} new texts", flush=True)
    return np.stack([cache[_key(t)] for t in texts]).astype(np.float32)


def load_eval(path: Path = DEV) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class MemoQueries:
    """Query embeddings memoised in memory: a bench re-ranks the same questions many times."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.memo: dict[str, np.ndarray] = {}

    async def embed_passages(self, texts: list[str]) -> np.ndarray:
        return await self.inner.embed_passages(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        if text not in self.memo:
            self.memo[text] = await self.inner.embed_query(text)
        return self.memo[text]
