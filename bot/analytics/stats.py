"""The statistics analytics needs, in plain Python: percentiles, Wilson intervals, a two-proportion z-test.

Kept free of scipy so the serving process stays light; the tests check every function against a reference
computation (scipy where installed, hand-computed values otherwise). Definitions: ``docs/analytics.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95%: the 0.975 quantile of the standard normal
Z_80_POWER = 0.8416212335729143  # one-sided 80% power: the 0.8 quantile


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks.

    The same rule as numpy's default (``method="linear"``, Hyndman & Fan type 7): the rank is
    ``(n - 1) * q / 100`` counted from 0, and a fractional rank interpolates its two neighbours.
    ``None`` for no values.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


def wilson(successes: int, trials: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of a proportion (95% by default); ``None`` without trials."""
    if trials <= 0:
        return None
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return Interval(max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class ZTest:
    z: float
    p_value: float  # two-sided


def two_proportion_z(success_a: int, n_a: int, success_b: int, n_b: int) -> ZTest | None:
    """Two-sided two-proportion z-test with the pooled standard error; ``None`` when it is undefined."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (success_a + success_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return None
    z = (success_b / n_b - success_a / n_a) / se
    return ZTest(z, math.erfc(abs(z) / math.sqrt(2)))


def votes_needed(p_a: float, p_b: float, *, z_alpha: float = Z_95, z_power: float = Z_80_POWER) -> int:
    """Votes per variant to tell ``p_a`` from ``p_b`` (two-sided 5%, 80% power; Fleiss without correction)."""
    delta = abs(p_a - p_b)
    if delta == 0:
        raise ValueError("the two proportions are equal: no sample size detects a zero difference")
    mean = (p_a + p_b) / 2
    root = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))
    return math.ceil(root * root / (delta * delta))
