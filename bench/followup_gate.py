"""Follow-up gate: skip the thread's search when the bare search is confident, chosen by 2-fold CV.

    OPORA_DATA_DIR=data .venv/bin/python -m bench.followup_gate [--cache /tmp/gate.pkl]

A message inside a thread is searched bare and joined with the thread's previous question
(``bot.followup``). The gate searches it bare first and, when the bare outcome is confident enough,
answers from it alone. Two kinds of in-thread messages, so the gate is not tuned to one:

- (a) the real follow-ups of the dev threads (``dev-multiturn.jsonl``; they need their thread);
- (b) each answerable dev question (``dev.jsonl``) asked inside an unrelated thread: the previous question
  of another dev question (seeded random choice, no gold page in common) is the thread's history. The
  combined result should keep the question's own pages.

Each message is searched bare and joined once (``--cache`` keeps the outcomes across runs); every gate
is then scored from those outcomes. Gates: ``best ≥ g`` (the bare search's calibrated best relevance) and
``margin ≥ g`` (its first page's relevance minus its second's). Folds: by a stable hash of the thread id
(a) or question id (b). For each fold, the gate is chosen on the other fold: the one that skips the most
thread searches (a and b together) while losing at most ``--tolerance`` hit@1 on (a) and on (b) against
never skipping; it is then scored on the held-out fold. Behind the gate: the configured combination
(``evidence -0.1``, the default) and fusion (``fused 1.0``, ``margin: null``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import pickle
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from bench.followup_cv import MULTITURN, fold_of, pages, scores
from bench.kb import DEV, MemoQueries, load_eval
from bot.config import Settings
from bot.followup import confidence, fuse_pages
from bot.language import detect_lang
from rag.factory import build_retriever

SEED = 15


@dataclass(slots=True)
class Case:
    kind: str  # "a": a real follow-up; "b": a standalone question inside an unrelated thread
    fold: int
    gold: list[str]
    bare: Any
    joined: Any


def unrelated_previous(rows: list[dict], seed: int = SEED) -> dict[str, str]:
    """For each answerable question, the question of another dev row sharing no gold page (seeded)."""
    rng = random.Random(seed)
    out: dict[str, str] = {}
    for row in rows:
        if row.get("expect", "answer") != "answer" or not row["gold_docs"]:
            continue
        others = [o for o in rows if o["id"] != row["id"] and not set(o["gold_docs"]) & set(row["gold_docs"])]
        out[row["id"]] = rng.choice(others)["question"]
    return out


async def collect(multiturn: Path, dev: Path) -> list[Case]:
    """Every in-thread message of both kinds searched bare and joined with its previous question."""
    retriever = await build_retriever(Settings())
    retriever.embedder = MemoQueries(retriever.embedder)  # type: ignore[assignment]

    async def both(question: str, previous: str) -> tuple[Any, Any]:
        lang = detect_lang(question, "en")
        bare = await retriever.retrieve(question, lang=lang, limit=50)
        return bare, await retriever.retrieve(f"{previous}\n{question}", lang=lang, limit=50)

    cases: list[Case] = []
    for thread in load_eval(multiturn):
        turns = thread["turns"]
        for prev, turn in itertools.pairwise(turns):
            bare, joined = await both(turn["question"], prev["question"])
            cases.append(Case("a", fold_of(thread["id"]), turn["gold_docs"], bare, joined))
    rows = load_eval(dev)
    previous = unrelated_previous(rows)
    for row in rows:
        if row["id"] in previous:
            bare, joined = await both(row["question"], previous[row["id"]])
            cases.append(Case("b", fold_of(row["id"]), row["gold_docs"], bare, joined))
        if len(cases) % 20 == 0:
            print(f"  searched {len(cases)} messages", flush=True)
    await retriever.store.close()
    return cases


Combine = Callable[[Any, Any], list[str]]
COMBINE: dict[str, Combine] = {
    "evidence -0.1": lambda b, j: pages(j) if j.best - b.best > -0.1 else pages(b),
    "fused 1.0": lambda b, j: pages(fuse_pages(b, j, 1.0)),
}
Gate = tuple[float, float]  # skip the thread's search when the bare search's (best, margin) ≥ both
NEVER: Gate = (2.0, 2.0)  # no gate: the thread is always searched (today)
_BEST = [round(0.5 + 0.025 * i, 3) for i in range(21)]
GATES: list[Gate] = [
    *((g, -1.0) for g in _BEST),  # best alone
    *((0.0, round(0.025 * i, 3)) for i in range(1, 21)),  # margin alone
    *((g, m) for m in (0.005, 0.01, 0.025, 0.05, 0.1) for g in _BEST),  # both
]


def label(gate: Gate) -> str:
    if gate == NEVER:
        return "never skip (today)"
    best, margin = gate
    parts = [f"best ≥ {best}" if best > 0 else "", f"margin ≥ {margin}" if margin > -1 else ""]
    return " & ".join(p for p in parts if p)


def evaluate(cases: list[Case], combine: Combine, gate: Gate) -> dict[str, dict[str, float]]:
    """hit@1, top5 per kind and the share of thread searches skipped (per kind and all)."""
    out: dict[str, dict[str, float]] = {}
    for kind in ("a", "b"):
        sub = [c for c in cases if c.kind == kind]
        skip = [all(v >= g for v, g in zip(confidence(c.bare), gate, strict=True)) for c in sub]
        ranks = [pages(c.bare) if s else combine(c.bare, c.joined) for c, s in zip(sub, skip, strict=True)]
        hits = scores([{"gold_docs": c.gold} for c in sub], ranks)
        out[kind] = {**hits, "skip": sum(skip) / (len(sub) or 1)}
    n_a, n_b = (sum(c.kind == k for c in cases) for k in ("a", "b"))
    out["all"] = {"skip": (out["a"]["skip"] * n_a + out["b"]["skip"] * n_b) / ((n_a + n_b) or 1)}
    return out


def choose(cases: list[Case], combine: Combine, tolerance: float) -> Gate:
    """The gate skipping the most while losing ≤ ``tolerance`` hit@1 and top-5 on (a) and on (b)."""
    base = evaluate(cases, combine, NEVER)
    best, best_key = NEVER, (0.0, 0.0, 0.0)
    for gate in GATES:
        s = evaluate(cases, combine, gate)
        if all(s[k][m] >= base[k][m] - tolerance for k in ("a", "b") for m in ("hit@1", "top5")):
            key = (s["all"]["skip"], s["a"]["hit@1"] + s["b"]["hit@1"], s["a"]["top5"] + s["b"]["top5"])
            if key > best_key:
                best, best_key = gate, key
    return best


def row(label: str, s: dict[str, dict[str, float]]) -> str:
    a, b = s["a"], s["b"]
    return (
        f"{label:<32}{a['hit@1']:>10.3f}{a['top5']:>6.3f}{a['skip']:>6.2f}"
        f"{b['hit@1']:>10.3f}{b['top5']:>6.3f}{b['skip']:>6.2f}{s['all']['skip']:>9.2f}"
    )


def report(cases: list[Case], tolerance: float, sweep: bool) -> None:
    folds = [[c for c in cases if c.fold == k] for k in (0, 1)]
    for k in (0, 1):
        n = {kind: sum(c.kind == kind for c in folds[k]) for kind in ("a", "b")}
        print(f"fold {k}: (a) {n['a']} follow-ups, (b) {n['b']} standalone questions in an unrelated thread")
    head = (
        f"{'':<32}{'(a) hit@1':>10}{'top5':>6}{'skip':>6}{'(b) hit@1':>10}{'top5':>6}{'skip':>6}"
        f"{'all skip':>9}"
    )
    for name, combine in COMBINE.items():
        print(f"\n== behind the gate: {name} ==")
        for k in (0, 1):
            gate = choose(folds[1 - k], combine, tolerance)
            base, held = evaluate(folds[k], combine, NEVER), evaluate(folds[k], combine, gate)
            ok = all(held[x]["hit@1"] >= base[x]["hit@1"] - 0.01 for x in ("a", "b"))
            print(f"fold {k}, gate chosen on fold {1 - k}: {label(gate)} (held-out hit@1 loss ≤ 0.01: {ok})")
            print(head)
            for gate_ in (NEVER, (0.0, -1.0), gate):
                print(row(f"  {label(gate_) or 'always skip (bare)'}", evaluate(folds[k], combine, gate_)))
        if sweep:
            print(f"sweep over all messages ({len(cases)}):")
            print(head)
            for gate in (NEVER, *GATES):
                print(row(f"  {label(gate)}", evaluate(cases, combine, gate)))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--eval", type=Path, default=MULTITURN)
    ap.add_argument("--dev", type=Path, default=DEV)
    ap.add_argument("--cache", type=Path, help="keep the search outcomes here (reused if it exists)")
    ap.add_argument("--tolerance", type=float, default=0.0, help="hit@1 a gate may lose on the training fold")
    ap.add_argument("--sweep", action="store_true", help="also print every gate over all messages")
    args = ap.parse_args()
    if args.cache and args.cache.exists():
        cases = pickle.loads(args.cache.read_bytes())
    else:
        cases = await collect(args.eval, args.dev)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(cases))
    report(cases, args.tolerance, args.sweep)


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main())
