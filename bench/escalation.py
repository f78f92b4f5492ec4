"""Incident detection: 2-fold CV on our labelled messages, and the shipped model on dev-critical.

    .venv/bin/python -m bench.escalation [--eval ../shared/eval/dev-critical.jsonl] [--errors]

Fold figures refit the shipped configuration (features, L2, threshold — chosen by CV in
``python -m bot.escalation.training``) on one fold and score the other; folds split by message, so a
message's typo / buried variants never sit on both sides. dev-critical is a test set: it is never used
for fitting or choosing. Embeddings are cached in ``~/.cache/opora``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bot.escalation.classifier import IncidentModel
from bot.escalation.dataset import examples, load_jsonl, two_folds
from bot.escalation.training import _fit, _probs, load_data, score

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "dev-critical.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=DEV)
    parser.add_argument("--errors", action="store_true", help="print the misread held-out messages")
    args = parser.parse_args()
    model = IncidentModel.load()
    blocks = tuple(float(x) for x in model.info["blocks"].split(","))
    l2 = float(model.info["l2"])
    data = load_data(examples())
    print(
        f"model: blocks(e5, n-grams)={blocks} l2={l2} threshold={model.threshold} "
        f"trained on {model.info['messages']} messages ({model.info['examples']} with variants)"
    )
    a, b = two_folds(data.items)
    for n, (train, test) in enumerate(((a, b), (b, a)), start=1):
        fitted = _fit(data, train, l2=l2, blocks=blocks)  # type: ignore[arg-type]
        predicted = (_probs(fitted, data, test) >= model.threshold).astype(int)
        originals = [i for i in test if data.items[i].text in {t for t, _ in _originals()}]
        pred_orig = (_probs(fitted, data, originals) >= model.threshold).astype(int)
        print(f"CV fold {n} (all variants): {score(data.labels[test], predicted).line()}")
        print(f"CV fold {n} (originals):    {score(data.labels[originals], pred_orig).line()}")
        grey_zone(n, _probs(fitted, data, test), data.labels[test], model.threshold)
    if args.eval.is_file():
        held = load_jsonl(args.eval)
        test_data = load_data(held)
        probs = model.probabilities(test_data.dense, [e.text for e in held])
        predicted = (probs >= model.threshold).astype(int)
        print(f"{args.eval.name} (test, shipped model): {score(test_data.labels, predicted).line()}")
        if args.errors:
            for e, p in zip(held, probs, strict=True):
                if (p >= model.threshold) != bool(e.label):
                    print(f"  {'MISSED' if e.label else 'FALSE '} p={p:.2f}  {e.text[:110]}")
    else:
        print(f"{args.eval} not found: no held-out score")


GREY_BOUNDS = (0.02, 0.05, 0.1, 0.2, 0.3)


def grey_zone(fold: int, probs: np.ndarray, labels: np.ndarray, threshold: float) -> None:
    """What the LLM judge would see at each ``escalation.llm_judge_min_probability``: the fold's misses it
    could still catch, and the share of messages (hard negatives included) it would be asked about."""
    missed = (probs < threshold) & (labels == 1)
    below = probs < threshold
    parts = [
        f"{lb:g}: misses {int(((probs >= lb) & missed).sum())}/{int(missed.sum())}, "
        f"judged {((probs >= lb) & below).mean():.2f}"
        for lb in GREY_BOUNDS
    ]
    print(f"CV fold {fold} judge grey zone (min probability): " + "; ".join(parts))


def _originals() -> list[tuple[str, int]]:
    from bot.escalation.dataset import load_messages

    return load_messages()


if __name__ == "__main__":
    np.seterr(over="ignore")
    main()
