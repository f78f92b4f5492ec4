"""Feedback that teaches, measured on a replayed vote log (2-fold CV of its weight and similarity bar).

    OPORA_DATA_DIR=data .venv/bin/python -m bench.feedback_replay

The log: every answerable dev question (dev.jsonl and the first turns of dev-multiturn.jsonl) is asked once
by its own simulated user, who sees the first page and votes 👍 when it is a right page, 👎 otherwise (the
vote judges that page at its current version). The log of one fold of questions is then replayed onto the
*other* fold's questions, which were never voted on: only similar questions benefit. Each fold's
parameters (``weight``, ``min_similarity``) are chosen on the opposite direction's replay.

Also printed: the same questions asked again (what a team sees when it re-asks), votes 90 days old, and an
adversary who down-votes the right page of every question (one user: pages must stay among the sources).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import structlog

from bench.kb import DEV, ROOT, MemoQueries, load_eval
from bot.config import Settings
from bot.language import detect_lang
from rag.factory import build_retriever
from rag.feedback_boost import FeedbackBooster, FeedbackWeights, PageVote

MULTITURN = ROOT.parent / "shared" / "eval" / "dev-multiturn.jsonl"
WEIGHTS = (0.05, 0.1, 0.15, 0.25, 0.4)
SIMILARITY = (0.8, 0.85, 0.88, 0.9)
NOW = datetime.now(UTC)


def fold_of(item_id: str) -> int:
    return hashlib.sha1(item_id.encode()).digest()[0] % 2


def questions() -> list[dict]:
    rows = [r for r in load_eval(DEV) if r["expect"] == "answer" and r["gold_docs"]]
    for t in load_eval(MULTITURN):
        rows.append({"id": t["id"], **t["turns"][0]})
    return rows


async def main() -> None:
    retriever = await build_retriever(Settings())
    retriever.embedder = MemoQueries(retriever.embedder)  # type: ignore[assignment]
    rows = questions()
    vecs: list[np.ndarray] = []
    votes: list[PageVote] = []
    for r in rows:
        vec = np.asarray(await retriever.embedder.embed_query(r["question"]), dtype=np.float32)
        vecs.append(vec)
        res = await retriever.retrieve(r["question"], lang=detect_lang(r["question"], "en"), limit=15)
        top = res.chunks[0].chunk
        value = 1 if top.path in set(r["gold_docs"]) else -1
        votes.append(PageVote(top.doc_id, top.version, value, f"user-{r['id']}", NOW, vec))
    folds = [fold_of(r["id"]) for r in rows]

    async def hit_rate(idx: list[int], booster: FeedbackBooster | None) -> tuple[float, float]:
        h1 = h5 = 0
        for i in idx:
            r = rows[i]
            res = await retriever.retrieve(
                r["question"],
                lang=detect_lang(r["question"], "en"),
                limit=30,
                boosters=[booster] if booster else (),
            )
            pages = list(dict.fromkeys(h.chunk.path for h in res.chunks))
            h1 += bool(pages and pages[0] in set(r["gold_docs"]))
            h5 += bool(set(pages[:5]) & set(r["gold_docs"]))
        return h1 / len(idx), h5 / len(idx)

    def log_of(fold: int) -> list[PageVote]:
        return [v for v, f in zip(votes, folds, strict=True) if f == fold]

    idx = [[i for i, f in enumerate(folds) if f == k] for k in (0, 1)]
    print(
        f"{len(rows)} questions ({len(idx[0])} / {len(idx[1])}); log: "
        f"{sum(v.value > 0 for v in votes)} 👍, {sum(v.value < 0 for v in votes)} 👎"
    )
    base = [await hit_rate(idx[k], None) for k in (0, 1)]
    grid: dict[tuple[float, float], list[tuple[float, float]]] = {}
    for w, s in itertools.product(WEIGHTS, SIMILARITY):
        fw = FeedbackWeights(weight=w, max_boost=2 * w, half_life_days=30, min_similarity=s)
        # fold k's questions, with the log of the other fold's questions
        grid[(w, s)] = [await hit_rate(idx[k], FeedbackBooster(log_of(1 - k), fw, now=NOW)) for k in (0, 1)]
    print(
        f"{'weight':>7}{'min sim':>9}{'fold0 hit@1':>13}{'fold1 hit@1':>13}   (no feedback "
        f"{base[0][0]:.3f} / {base[1][0]:.3f})"
    )
    for (w, s), res in grid.items():
        print(f"{w:>7}{s:>9}{res[0][0]:>13.3f}{res[1][0]:>13.3f}")
    chosen = {}
    for k in (0, 1):
        params = max(grid, key=lambda p: (grid[p][1 - k][0], grid[p][1 - k][1], -p[0]))
        chosen[k] = params
        got = grid[params][k]
        print(
            f"fold {k}: chosen on fold {1 - k}: weight {params[0]}, min_similarity {params[1]} → held-out "
            f"hit@1 {base[k][0]:.3f} → {got[0]:.3f}, top5 {base[k][1]:.3f} → {got[1]:.3f}"
        )
    d = Settings().ranking.feedback
    fw = FeedbackWeights(d.weight, d.max_boost, d.half_life_days, d.min_similarity)
    every = list(range(len(rows)))
    before = await hit_rate(every, None)
    again = await hit_rate(every, FeedbackBooster(votes, fw, now=NOW))
    print(f"defaults {fw}:")
    print(
        f"  same questions asked again: hit@1 {before[0]:.3f} → {again[0]:.3f}, "
        f"top5 {before[1]:.3f} → {again[1]:.3f}"
    )
    old = await hit_rate(every, FeedbackBooster(votes, fw, now=NOW + timedelta(days=90)))
    print(f"  the same log 90 days later: hit@1 {old[0]:.3f}, top5 {old[1]:.3f}")
    adversary = []
    for i, r in enumerate(rows):
        res = await retriever.retrieve(r["question"], lang=detect_lang(r["question"], "en"), limit=30)
        for h in res.chunks:
            if h.chunk.path in set(r["gold_docs"]):
                adversary.append(PageVote(h.chunk.doc_id, h.chunk.version, -1, "mallory", NOW, vecs[i]))
                break
    hurt = await hit_rate(every, FeedbackBooster(adversary, fw, now=NOW))
    print(
        f"  one user down-votes every right page: hit@1 {before[0]:.3f} → {hurt[0]:.3f}, right page still "
        f"among the top 5: {before[1]:.3f} → {hurt[1]:.3f}"
    )
    await retriever.store.close()


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
