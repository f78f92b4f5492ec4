"""Interval bounds, the z-test's p-value and the votes-needed estimate against reference computations."""

from __future__ import annotations

import math

import pytest

from bot.analytics import ab
from bot.analytics.metrics import Counts
from bot.analytics.stats import two_proportion_z, votes_needed, wilson

scipy_stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize(("k", "n"), [(60, 100), (75, 100), (0, 10), (10, 10), (1, 3), (537, 1000)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    ours = wilson(k, n)
    ref = scipy_stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert ours is not None
    assert ours.low == pytest.approx(ref.low, abs=1e-9)
    assert ours.high == pytest.approx(ref.high, abs=1e-9)


def test_wilson_hand_computed_and_empty() -> None:
    interval = wilson(60, 100)
    assert interval is not None
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.5020, 0.6906)  # textbook value
    assert wilson(0, 0) is None


def test_two_proportion_z_matches_the_reference() -> None:
    test = two_proportion_z(60, 100, 75, 100)
    assert test is not None
    pooled = 135 / 200
    z = (0.75 - 0.60) / math.sqrt(pooled * (1 - pooled) * (2 / 100))
    assert test.z == pytest.approx(z) and test.z == pytest.approx(2.2646, abs=1e-4)
    assert test.p_value == pytest.approx(2 * scipy_stats.norm.sf(z), rel=1e-12)
    assert test.p_value == pytest.approx(0.02354, abs=1e-5)
    # scipy's chi-square test of the 2×2 table without continuity correction is the same test (χ² = z²)
    chi2, p, _, _ = scipy_stats.chi2_contingency([[60, 40], [75, 25]], correction=False)
    assert test.p_value == pytest.approx(p, rel=1e-9) and test.z**2 == pytest.approx(chi2)
    assert two_proportion_z(0, 0, 1, 2) is None
    assert two_proportion_z(5, 5, 5, 5) is None  # no variance: undefined


def test_votes_needed_fleiss_formula() -> None:
    # 0.60 vs 0.75, alpha 0.05 two-sided, power 0.8: the textbook answer is 152 per group
    assert votes_needed(0.60, 0.75) == 152
    with pytest.raises(ValueError):
        votes_needed(0.5, 0.5)


def counts(up: int, down: int, answers: int | None = None) -> Counts:
    c = Counts(votes_up=up, votes_down=down)
    c.answers = c.voted_answers = answers or up + down
    return c


def test_verdict_significant() -> None:
    v = ab.verdict("concise", "control", counts(75, 25), counts(60, 40))
    assert v.kind == "better" and v.en == "concise better, p = 0.02" and v.ru == "concise лучше, p = 0.02"
    worse = ab.verdict("concise", "control", counts(60, 40), counts(75, 25))
    assert worse.kind == "worse" and worse.en == "control better, p = 0.02"


def test_verdict_not_enough_data_says_how_many() -> None:
    v = ab.verdict("concise", "control", counts(15, 5), counts(12, 8))
    # observed 0.75 vs 0.60 needs 152 votes each: 132 + 132 more
    assert v.kind == "not_enough_data" and v.more_votes == 264
    assert v.en == "not enough data: about 264 more votes needed"
    # equal satisfaction: plan for the configured minimum effect (0.6 → 0.7)
    same = ab.verdict("b", "control", counts(6, 4), counts(6, 4), min_effect=0.1)
    assert same.more_votes == 2 * votes_needed(0.6, 0.7) - 20
    assert ab.verdict("control", "control", counts(1, 1), counts(1, 1)).kind == "baseline"
