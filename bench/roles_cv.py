"""Roles change retrieval: hit@1 on a role-tagged question set with and without the role boost, 2-fold CV.

    OPORA_DATA_DIR=data .venv/bin/python -m bench.roles_cv [--eval bench/data/roles.jsonl]

``bench/data/roles.jsonl`` (written for this bench): questions whose wording fits several pages and whose
asker's role says which one they mean, plus control questions where the asker's role is not the page's
(a QA engineer asking about RBAC), which the boost must not break. Each boost value re-ranks the same
candidates (``rag.roles.RoleBooster``); folds split the questions by a stable hash of their id, and each
fold's value is chosen on the other fold.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
from pathlib import Path

import structlog

from bench.kb import ROOT, MemoQueries, load_eval
from bot.config import Settings
from bot.language import detect_lang
from rag.factory import build_retriever
from rag.roles import RoleBooster

BOOSTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5)


def fold_of(item_id: str) -> int:
    return hashlib.sha1(item_id.encode()).digest()[0] % 2


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--eval", type=Path, default=ROOT / "bench" / "data" / "roles.jsonl")
    args = ap.parse_args()
    rows = load_eval(args.eval)
    retriever = await build_retriever(Settings())
    retriever.embedder = MemoQueries(retriever.embedder)  # type: ignore[assignment]
    hits: dict[float, list[tuple[int, bool, bool]]] = {b: [] for b in BOOSTS}
    for row in rows:
        gold = set(row["gold_docs"])
        for b in BOOSTS:
            res = await retriever.retrieve(
                row["question"],
                lang=detect_lang(row["question"], "en"),
                limit=30,
                boosters=[RoleBooster(row["role"], b)] if b else (),
            )
            pages = list(dict.fromkeys(h.chunk.path for h in res.chunks))
            hits[b].append(
                (fold_of(row["id"]), bool(pages and pages[0] in gold), bool(set(pages[:5]) & gold))
            )
    await retriever.store.close()

    def score(b: float, fold: int | None) -> tuple[float, float]:
        part = [h for h in hits[b] if fold is None or h[0] == fold]
        n = len(part) or 1
        return sum(h[1] for h in part) / n, sum(h[2] for h in part) / n

    print(
        f"{len(rows)} role-tagged questions; folds {sum(h[0] == 0 for h in hits[0.0])} / "
        f"{sum(h[0] == 1 for h in hits[0.0])}"
    )
    print(f"{'boost':>6}{'hit@1':>8}{'top5':>7}{'fold0 hit@1':>13}{'fold1 hit@1':>13}")
    for b in BOOSTS:
        a, f0, f1 = score(b, None), score(b, 0), score(b, 1)
        print(f"{b:>6}{a[0]:>8.3f}{a[1]:>7.3f}{f0[0]:>13.3f}{f1[0]:>13.3f}")
    for k in (0, 1):
        chosen = max(BOOSTS, key=lambda b: (score(b, 1 - k)[0], score(b, 1 - k)[1], -b))
        s, base = score(chosen, k), score(0.0, k)
        print(
            f"fold {k}: boost chosen on fold {1 - k}: {chosen} → held-out hit@1 {s[0]:.3f} top5 {s[1]:.3f} "
            f"(no boost {base[0]:.3f} / {base[1]:.3f})"
        )


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
