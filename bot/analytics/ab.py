"""A/B results of prompt variants: answers, vote rate, satisfaction with 95% Wilson intervals, a verdict.

Each variant is compared with the baseline (``control``, or the first configured variant) by a two-sided
two-proportion z-test on satisfaction (👍 among votes). The verdict is plain words in Russian and English.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.analytics.metrics import Counts, grouped, votes_by_answer
from bot.analytics.records import QuestionRecord, VoteRecord
from bot.analytics.stats import two_proportion_z, votes_needed, wilson

ALPHA = 0.05


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str  # better | worse | no_difference | not_enough_data | baseline
    p_value: float | None
    more_votes: int | None  # about how many more votes (both variants together) a verdict needs
    en: str
    ru: str


def _p(p: float) -> str:
    if p < 0.001:
        return "< 0.001"
    return f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def verdict(
    name: str, baseline: str, b: Counts, a: Counts, *, min_votes: int = 20, min_effect: float = 0.1
) -> Verdict:
    """The plain-words result of ``name`` (``b``) against ``baseline`` (``a``)."""
    if name == baseline:
        return Verdict("baseline", None, None, "baseline", "базовый вариант")
    n_a, n_b = a.votes_up + a.votes_down, b.votes_up + b.votes_down
    test = two_proportion_z(a.votes_up, n_a, b.votes_up, n_b)
    enough = n_a >= min_votes and n_b >= min_votes
    if test is not None and enough and test.p_value < ALPHA:
        better = test.z > 0
        p = _p(test.p_value)
        if better:
            return Verdict("better", test.p_value, 0, f"{name} better, p {p}", f"{name} лучше, p {p}")
        return Verdict("worse", test.p_value, 0, f"{baseline} better, p {p}", f"{baseline} лучше, p {p}")
    sat_a = a.votes_up / n_a if n_a else 0.5
    sat_b = b.votes_up / n_b if n_b else 0.5
    diff = abs(sat_b - sat_a)
    if diff < min_effect:  # plan for the smallest difference worth acting on
        sat_b = min(0.999, sat_a + min_effect) if sat_a + min_effect < 1 else max(0.001, sat_a - min_effect)
    per_variant = max(votes_needed(sat_a, sat_b), min_votes)
    more = max(0, per_variant - n_a) + max(0, per_variant - n_b)
    if more == 0 and test is not None:
        p = _p(test.p_value)
        return Verdict(
            "no_difference",
            test.p_value,
            0,
            f"no difference found, p {p}",
            f"разница не найдена, p {p}",
        )
    return Verdict(
        "not_enough_data",
        test.p_value if test else None,
        more,
        f"not enough data: about {more} more votes needed",
        f"недостаточно данных: нужно ещё около {more} оценок",
    )


def results(
    questions: Sequence[QuestionRecord],
    votes: Sequence[VoteRecord],
    *,
    configured: Sequence[str],
    states: dict[str, str],
    min_votes: int = 20,
    min_effect: float = 0.1,
) -> dict[str, Any]:
    """Per variant: answers, votes, vote rate, satisfaction and its interval, the verdict vs the baseline."""
    by_answer = votes_by_answer(votes)
    answered = [q for q in questions if q.answer_id is not None and q.variant]
    groups = grouped(answered, by_answer, lambda q: q.variant)
    names = list(dict.fromkeys([*configured, *sorted(groups)]))
    baseline = "control" if "control" in names else (names[0] if names else "control")
    base = groups.get(baseline, Counts())
    rows = []
    for name in names:
        c = groups.get(name, Counts())
        n = c.votes_up + c.votes_down
        sat = wilson(c.votes_up, n)
        rate = wilson(c.voted_answers, c.answers)
        v = verdict(name, baseline, c, base, min_votes=min_votes, min_effect=min_effect)
        rows.append(
            {
                "variant": name,
                "status": states.get(name, "active"),
                "configured": name in configured,
                "answers": c.answers,
                "voted_answers": c.voted_answers,
                "votes_up": c.votes_up,
                "votes_down": c.votes_down,
                "vote_rate": round(c.vote_rate, 4) if c.vote_rate is not None else None,
                "vote_rate_ci": [round(rate.low, 4), round(rate.high, 4)] if rate else None,
                "satisfaction": round(c.satisfaction, 4) if c.satisfaction is not None else None,
                "satisfaction_ci": [round(sat.low, 4), round(sat.high, 4)] if sat else None,
                "verdict": v.kind,
                "p_value": round(v.p_value, 6) if v.p_value is not None else None,
                "more_votes": v.more_votes,
                "verdict_en": v.en,
                "verdict_ru": v.ru,
            }
        )
    return {"baseline": baseline, "variants": rows}
