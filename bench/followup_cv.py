"""Follow-ups in threads: how each way of searching a follow-up ranks the right page, 2-fold CV.

    OPORA_DATA_DIR=data .venv/bin/python -m bench.followup_cv [--eval ../shared/eval/dev-multiturn.jsonl]

Runs over the index of the configured data dir (build it with ``opora ingest``). Every turn of every thread
is searched bare and joined with the thread's previous question, once; each method then picks or fuses:

- ``bare``: the message alone; ``joined``: always with the previous question;
- ``old rule``: joined when ≤ 6 words or it starts with "and"/"а"/"it"... (the rule this replaces);
- ``evidence m``: joined when its relevance beats the bare query's by more than ``m``;
- ``fused w``: reciprocal-rank fusion of both page rankings, the thread's weighing ``w`` (``bot.followup``).

Folds: threads split by a stable hash of their id. For each fold, the parameter is chosen on the other
fold's follow-ups (hit@1, then a right page in the top 5) and scored on this fold's.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import structlog

from bench.kb import ROOT, MemoQueries, load_eval
from bot.config import Settings
from bot.followup import fuse_pages
from bot.language import detect_lang
from rag.factory import build_retriever

MULTITURN = ROOT.parent / "shared" / "eval" / "dev-multiturn.jsonl"
_OLD = re.compile(
    r"^(and|but|also|what about|how about|same|it|this|that|a |и |а |но |ещё|еще|тоже|это|то же|а если)\b",
    re.IGNORECASE,
)


def fold_of(thread_id: str) -> int:
    return hashlib.sha1(thread_id.encode()).digest()[0] % 2


def pages(outcome: Any) -> list[str]:
    return list(dict.fromkeys(h.chunk.path for h in outcome.chunks if h.chunk.path))


def scores(rows: list[dict], rankings: list[list[str]]) -> dict[str, float]:
    n = len(rows) or 1
    hit1 = sum(bool(r and r[0] in set(row["gold_docs"])) for row, r in zip(rows, rankings, strict=True))
    hit5 = sum(bool(set(r[:5]) & set(row["gold_docs"])) for row, r in zip(rows, rankings, strict=True))
    return {"hit@1": hit1 / n, "top5": hit5 / n}


def methods(bare: Any, joined: Any, question: str) -> dict[str, list[str]]:
    out = {"bare": pages(bare), "joined": pages(joined)}
    old = len(question.split()) <= 6 or bool(_OLD.match(question.strip()))
    out["old rule"] = out["joined"] if old else out["bare"]
    for m in (-0.1, 0.0, 0.05, 0.1, 0.2):
        out[f"evidence {m}"] = out["joined"] if joined.best - bare.best > m else out["bare"]
    for w in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
        out[f"fused {w}"] = pages(fuse_pages(bare, joined, w))
    return out


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--eval", type=Path, default=MULTITURN)
    args = ap.parse_args()
    retriever = await build_retriever(Settings())
    retriever.embedder = MemoQueries(retriever.embedder)  # type: ignore[assignment]
    threads = load_eval(args.eval)
    follow: list[tuple[int, dict, dict[str, list[str]]]] = []
    first: list[tuple[dict, list[str]]] = []
    for thread in threads:
        previous: str | None = None
        for turn in thread["turns"]:
            q = turn["question"]
            lang = detect_lang(q, "en")
            bare = await retriever.retrieve(q, lang=lang, limit=50)
            if previous is None:
                first.append((turn, pages(bare)))
            else:
                joined = await retriever.retrieve(f"{previous}\n{q}", lang=lang, limit=50)
                follow.append((fold_of(thread["id"]), turn, methods(bare, joined, q)))
            previous = q
    await retriever.store.close()
    names = list(follow[0][2])
    folds = [[f for f in follow if f[0] == k] for k in (0, 1)]
    table = {
        name: [scores([t for _, t, _ in fold], [m[name] for _, _, m in fold]) for fold in folds]
        for name in names
    }
    fr = scores([t for t, _ in first], [r for _, r in first])
    print(f"first turns ({len(first)}): hit@1 {fr['hit@1']:.3f}, right page in top 5 {fr['top5']:.3f}")
    print(f"follow-ups: {len(folds[0])} / {len(folds[1])} in folds 0 / 1")
    print(
        f"{'method':<16}{'fold0 hit@1':>12}{'top5':>7}{'fold1 hit@1':>13}{'top5':>7}"
        f"{'all hit@1':>11}{'top5':>7}"
    )
    for name in names:
        a, b = table[name]
        n0, n1 = len(folds[0]), len(folds[1])
        h1 = (a["hit@1"] * n0 + b["hit@1"] * n1) / (n0 + n1)
        h5 = (a["top5"] * n0 + b["top5"] * n1) / (n0 + n1)
        print(
            f"{name:<16}{a['hit@1']:>12.3f}{a['top5']:>7.3f}{b['hit@1']:>13.3f}{b['top5']:>7.3f}{h1:>11.3f}{h5:>7.3f}"
        )
    for family in ("evidence", "fused"):
        cands = [n for n in names if n.startswith(family)]
        for k in (0, 1):
            chosen = max(cands, key=lambda n: (table[n][1 - k]["hit@1"], table[n][1 - k]["top5"]))
            s = table[chosen][k]
            print(
                f"{family}: fold {k}: chosen on fold {1 - k}: {chosen!r} → held-out hit@1 {s['hit@1']:.3f}, "
                f"top5 {s['top5']:.3f} (old rule {table['old rule'][k]['hit@1']:.3f} / "
                f"{table['old rule'][k]['top5']:.3f})"
            )


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
