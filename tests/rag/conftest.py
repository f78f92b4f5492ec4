"""Fixtures of the retrieval tests: an in-memory DocumentCatalog, a fast fake embedder, a small KB."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from rag.types import DocumentState, SourceDocument

KB_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "kb"
SMALL_KB = [
    "werf/en/reference/debug_env_vars.md",
    "werf/ru/reference/debug_env_vars.md",
    "helm/en/faq/uninstalling.md",
    "helm/en/intro/using_helm.md",
]


class InMemoryCatalog:
    """``DocumentCatalog`` kept in dicts, with the same semantics as the storage implementation."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], dict] = {}
        self.runs: dict[int, dict] = {}
        self.registered: list[str] = []

    async def states(self, source: str) -> dict[str, DocumentState]:
        return {
            ext: DocumentState(d["doc_id"], ext, d["hash"], d["version"])
            for (src, ext), d in self.docs.items()
            if src == source and not d["deleted"]
        }

    async def register(self, doc: SourceDocument) -> DocumentState:
        key = (doc.source, doc.external_id)
        row = self.docs.get(key)
        if row is None or row["deleted"]:
            row = {"doc_id": f"doc-{len(self.docs) + 1}", "hash": None, "version": 1, "deleted": False}
            self.docs[key] = row
        elif row["hash"] != doc.content_hash:
            row["version"] += 1
            row["hash"] = None
        self.registered.append(doc.external_id)
        return DocumentState(row["doc_id"], doc.external_id, row["hash"], row["version"])

    async def mark_indexed(self, doc_id: str, *, content_hash: str, chunks: int) -> None:
        row = next(d for d in self.docs.values() if d["doc_id"] == doc_id)
        row["hash"], row["chunks"] = content_hash, chunks

    async def mark_deleted(self, doc_id: str) -> None:
        next(d for d in self.docs.values() if d["doc_id"] == doc_id)["deleted"] = True

    async def start_run(self, source: str) -> int:
        run_id = len(self.runs) + 1
        self.runs[run_id] = {"source": source, "stats": None, "error": None}
        return run_id

    async def finish_run(self, run_id: int, *, stats: dict[str, int], error: str | None = None) -> None:
        self.runs[run_id].update(stats=stats, error=error)


class HashEmbedder:
    """Deterministic bag-of-words vectors: fast, and similar texts get similar vectors."""

    name = "hash-test"
    dim = 64

    def __init__(self, fail_after_batches: int | None = None) -> None:
        self.calls = 0
        self.embedded: list[str] = []
        self.fail_after_batches = fail_after_batches

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for w in text.lower().split():
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        return v / max(float(np.linalg.norm(v)), 1e-6)

    async def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_after_batches is not None and self.calls >= self.fail_after_batches:
            raise RuntimeError("embedder crashed")
        self.calls += 1
        self.embedded.extend(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    async def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


@pytest.fixture
def catalog() -> InMemoryCatalog:
    return InMemoryCatalog()


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    """A copy of a few sample-KB files (so tests may edit and delete them)."""
    if not KB_ROOT.is_dir():
        pytest.skip(f"sample KB not found at {KB_ROOT}")
    root = tmp_path / "kb"
    for rel in SMALL_KB:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(KB_ROOT / rel, root / rel)
    return root
