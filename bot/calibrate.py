"""``opora calibrate``: refit the relevance calibration and abstain threshold of the current embedder.

Runs every labelled question (``expect: answer`` or ``abstain``; the formats of ``opora eval``) through the
retriever, keeps the evidence of its top three passages, reports a 2-fold cross-validation (each fold's
calibration fitted on the other fold), then fits on all questions and stores the result beside the index
(``rag.calibration``) unless ``dry_run``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bot.evaluation import EvalItem
from bot.language import detect_lang
from bot.services import Services
from rag.calibration import CalibrationFile, Evidence, decide, fit


def fold_of(item_id: str) -> int:
    return hashlib.sha1(item_id.split("#")[0].encode()).digest()[0] % 2


async def calibrate(services: Services, items: list[EvalItem], *, dry_run: bool = False) -> dict[str, Any]:
    retriever = services.extras["retriever"]
    embedder = services.extras["embedder"]
    labelled = [i for i in items if i.expect in ("answer", "abstain") and i.turn == 0]
    samples: list[tuple[Evidence, bool]] = []
    folds: list[int] = []
    for item in labelled:
        result = await retriever.retrieve(item.question, lang=detect_lang(item.question, "en"))
        samples.append((result.evidence, item.expect == "answer"))
        folds.append(fold_of(item.id))
    current = retriever.current_calibration()
    report: dict[str, Any] = {
        "embedder": embedder.name,
        "questions": len(samples),
        "unanswerable": sum(1 for _, label in samples if not label),
        "current": {"source": current.source, "threshold": current.threshold, **decide(current, samples)},
    }
    for k in (0, 1):
        train = [s for s, f in zip(samples, folds, strict=True) if f != k]
        test = [s for s, f in zip(samples, folds, strict=True) if f == k]
        try:
            cal = fit(train, embedder.name)
        except ValueError as exc:
            report[f"fold {k}"] = {"error": str(exc)}
            continue
        report[f"fold {k}"] = {
            "threshold": cal.threshold,
            "held-out": decide(cal, test),
            "held-out, current": decide(current, test),
        }
    final = fit(samples, embedder.name)
    report["fitted"] = {
        "center": round(final.center, 4),
        "slope": round(final.slope, 2),
        "coverage": round(final.coverage, 3),
        "ident": round(final.ident, 3),
        "threshold": final.threshold,
        **decide(final, samples),
    }
    if not dry_run:
        CalibrationFile(services.settings.index_path, embedder.name).save(final)
        report["stored"] = str(services.settings.index_path / "calibration.json")
    return report
