"""Relevance calibration and the abstain threshold belong to the embedding model.

The relevance of a passage is ``sigmoid(slope·(cosine − center) + coverage·(share − 0.5) + ident·idents)``:
the absolute cosine says "about the same thing", the share of the question's terms and its identifiers found
verbatim say "about this knowledge base". Cosines are the embedder's own scale (e5 puts related pairs at
0.80–0.90; another model may put them at 0.3–0.6), so the numbers, and the threshold the best of the top
three passages must clear, are fitted per embedder and stored beside the index it built
(``<index>/calibration.json``, keyed by the embedder's name). ``opora calibrate <labelled.jsonl>`` refits
them on questions marked ``expect: answer`` / ``expect: abstain``.

An embedder with no stored calibration gets the built-in one only when it is the model the built-in was
measured on (``multilingual-e5-small``, any backend: the same weights give the same cosines). Any other
model runs uncalibrated, and says so loudly at start and in ``opora eval``, instead of abstaining at random.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import structlog

log = structlog.get_logger(__name__)
FILE = "calibration.json"
BUILTIN_MODEL = "multilingual-e5-small"


@dataclass(frozen=True, slots=True)
class Calibration:
    embedder: str
    center: float = 0.815  # cosine where relevance is one half, other evidence neutral
    slope: float = 30.0
    coverage: float = 3.0
    ident: float = 2.0
    threshold: float = 0.7  # the best of the top three passages must reach it, else abstain
    source: str = "builtin"  # builtin | fitted | missing
    fitted_on: str | None = None
    questions: int = 0
    fitted_at: str | None = None

    def relevance(self, cosine: float, coverage: float, ident: float) -> float:
        z = self.slope * (cosine - self.center) + self.coverage * (coverage - 0.5) + self.ident * ident
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    @property
    def trusted(self) -> bool:
        return self.source != "missing"


def builtin(embedder: str) -> Calibration:
    """The calibration measured for e5-small; marked ``missing`` for any other model."""
    if BUILTIN_MODEL in embedder:
        return Calibration(embedder)
    return Calibration(embedder, source="missing")


class CalibrationFile:
    """``<index>/calibration.json``: one calibration per embedder, reloaded when the file changes."""

    def __init__(self, folder: Path, embedder: str) -> None:
        self.path = Path(folder) / FILE
        self.embedder = embedder
        self._stamp: tuple[int, int] | None = None
        self._current = builtin(embedder)
        self._warned = False

    def current(self) -> Calibration:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._current = self._read() or builtin(self.embedder)
        if not self._current.trusted and not self._warned:
            self._warned = True
            log.warning(
                "calibration.missing",
                embedder=self.embedder,
                hint="abstaining is not calibrated for this embedder: run `opora calibrate <labelled.jsonl>`",
            )
        return self._current

    def _read(self) -> Calibration | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            entry = data.get(self.embedder)
            return Calibration(**entry) if isinstance(entry, dict) else None
        except (OSError, ValueError, TypeError):
            return None

    def save(self, calibration: Calibration) -> None:
        """Store ``calibration`` for its embedder (others' entries are kept); atomic replace."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        data[calibration.embedder] = asdict(calibration)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)


# --- fitting -------------------------------------------------------------------------------------------

Evidence = Sequence[tuple[float, float, float]]  # (raw cosine, coverage, identifiers) of the top passages


def _score(cal: Calibration, evidence: Evidence) -> float:
    return max((cal.relevance(*e) for e in evidence), default=0.0)


def fit(samples: Sequence[tuple[Evidence, bool]], embedder: str, *, l2: float = 1.0) -> Calibration:
    """Fit the relevance weights and the threshold on questions labelled answerable (True) or not.

    A question's relevance is that of its best top-three passage, so the fit alternates: pick each
    question's best passage under the current weights, then fit a logistic regression (L2 towards the
    built-in weights, so a small set cannot run away) on those. The threshold maximises balanced accuracy
    (answerable answered, unanswerable abstained), halfway between the scores it separates.
    """
    if not samples:
        raise ValueError("no labelled questions to calibrate on")
    prior = builtin(BUILTIN_MODEL)
    cal = replace(prior, embedder=embedder, source="fitted")
    if not any(label for _, label in samples) or all(label for _, label in samples):
        raise ValueError("calibration needs both answerable and unanswerable questions")
    y = np.array([1.0 if label else 0.0 for _, label in samples])
    # start where this model's cosines are: the median best cosine of the questions
    cal = replace(cal, center=float(np.median([max((e[0] for e in ev), default=0.0) for ev, _ in samples])))
    for _ in range(4):
        rows = [max(ev, key=lambda e: cal.relevance(*e)) if ev else (0.0, 0.0, 0.0) for ev, _ in samples]
        x = np.array([[c, cov - 0.5, i] for c, cov, i in rows])
        # parameters: w_cos, w_cov, w_ident, bias (z = w·x + b); prior from the built-in calibration
        p0 = np.array([prior.slope, prior.coverage, prior.ident, -prior.slope * prior.center])
        # the prior holds the slope and the evidence weights (relative to their size); the bias, i.e. where
        # on this model's cosine scale relevance turns, is the data's alone
        scale = np.array([1.0 / prior.slope, 1.0, 1.0, 0.0])
        theta = np.array([cal.slope, cal.coverage, cal.ident, -cal.slope * cal.center])
        xb = np.hstack([x, np.ones((len(x), 1))])
        for _ in range(200):  # Newton steps on the penalised log-likelihood
            z = np.clip(xb @ theta, -60, 60)
            p = 1.0 / (1.0 + np.exp(-z))
            d = (theta - p0) * scale**2
            grad = xb.T @ (p - y) + l2 * d
            hess = xb.T @ (xb * (p * (1 - p))[:, None]) + l2 * np.diag(scale**2)
            step = np.linalg.solve(hess + 1e-6 * np.eye(4), grad)
            norm = float(np.abs(step).max())
            if norm > 2.0:  # damped: a flat likelihood (separable data) must not throw the fit away
                step *= 2.0 / norm
            theta = theta - step
            if float(np.abs(step).max()) < 1e-7:
                break
        slope = max(1.0, float(theta[0]))
        cal = replace(
            cal, slope=slope, coverage=float(theta[1]), ident=float(theta[2]), center=float(-theta[3] / slope)
        )
    scores = [_score(cal, ev) for ev, _ in samples]
    cal = replace(cal, threshold=best_threshold(scores, [label for _, label in samples]))
    return replace(cal, questions=len(samples), fitted_at=datetime.now(UTC).isoformat(timespec="seconds"))


def best_threshold(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The cut that maximises balanced accuracy; among equals, the one with the widest margin."""
    pos = [s for s, lab in zip(scores, labels, strict=True) if lab]
    neg = [s for s, lab in zip(scores, labels, strict=True) if not lab]
    values = sorted(set(scores))
    cuts = [(a + b) / 2 for a, b in itertools.pairwise(values)] or [0.5]

    def quality(t: float) -> tuple[float, float]:
        acc = 0.5 * (sum(s >= t for s in pos) / len(pos) + sum(s < t for s in neg) / len(neg))
        margin = min((abs(s - t) for s in scores), default=0.0)
        return acc, margin

    return round(max(cuts, key=quality), 4)


def decide(cal: Calibration, samples: Sequence[tuple[Evidence, bool]]) -> dict[str, float]:
    """Abstain precision/recall and answered-when-answerable of ``cal`` on labelled ``samples``."""
    abstained = [_score(cal, ev) < cal.threshold for ev, _ in samples]
    truth = [not label for _, label in samples]
    tp = sum(a and t for a, t in zip(abstained, truth, strict=True))
    return {
        "abstain_precision": round(tp / max(1, sum(abstained)), 3),
        "abstain_recall": round(tp / max(1, sum(truth)), 3),
        "wrongly_abstained": sum(a and not t for a, t in zip(abstained, truth, strict=True)),
    }
