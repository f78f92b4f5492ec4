"""Incident detection: does a message report an ongoing production incident?"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Unambiguous on their own.
STRONG: tuple[str, ...] = (
    r"\b(prod|production|прод\w*)\b[^.!?\n]{0,40}\b(is down|down|лежит|упал\w*|недоступ\w*|не работает)",
    r"\b(лежит|упал\w*)\s+прод\w*",
    r"\boutage\b",
    r"\bsev[- ]?[01]\b",
    r"\b(data loss|lost (our |the |all )?data|losing data)\b",
    r"\b(потеря(ли)?|потеряли|пропал[аи]?)\b[^.!?\n]{0,30}\b(данн|баз)\w*",
    r"\bданных\s+нет\b",
)
# Severity: how the asker feels about it.
SEVERITY: tuple[str, ...] = (
    r"\burgent\w*\b",
    r"\basap\b",
    r"\bсрочн\w*",
    r"\bincident\b",
    r"\bинцидент\w*",
    r"\bавари\w*",
    r"\b(need|call|page)\b[^.!?\n]{0,15}\b(on-?call|human|someone)\b",
    r"\bнуж(ен|на|ны)\s+(человек|дежурн\w*|помощь)",
    r"\b(losing|lose) money\b",
    r"\bтеряем\s+деньги\b",
    r"\bp0\b",
)
# Impact: what is broken and for whom.
IMPACT: tuple[str, ...] = (
    r"\b5\d\d\b|\b5xx\b",
    r"\b(all|every|most) (users|customers|clients|requests?|teams)\b|\bevery request\b",
    r"\bу\s+всех\b|\bвсех\s+(клиентов|пользователей|команд)\b",
    r"\b(customers|clients|users) (are )?(complain\w*|can'?t|cannot)\b|\bклиенты\s+жалуются\b",
    r"\bcrashloopbackoff\b[^.!?\n]{0,40}\b(prod|production)\b|\b(prod|production)\b[^.!?\n]{0,60}crashloopbackoff",
    r"\b(cluster|кластер)\b[^.!?\n]{0,20}\b(unavailable|unreachable|down|недоступен|лежит)\b",
    r"\b(is down|are down|went down)\b",
    r"\bоткат\w*\s+не\s+(помог\w*|получается|работает)",
    r"\b(rollback|roll back)\b[^.!?\n]{0,20}\b(failed|doesn'?t work|did not help)\b",
)


def _compile(patterns: tuple[str, ...] | list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p, re.IGNORECASE | re.UNICODE) for p in patterns]


@dataclass(frozen=True, slots=True)
class Verdict:
    critical: bool
    reasons: tuple[str, ...] = ()


class CriticalDetector:
    """Reads a message as an incident when it says so plainly, or combines severity with impact.

    One strong phrase ("прод лежит", "outage", "data loss") is enough; otherwise a severity word together
    with an impact ("срочно" + "500 у всех"), or two different impacts, are needed, so an ordinary
    question that mentions a 500 or production is not escalated.
    """

    def __init__(self, extra_phrases: list[str] | None = None, extra_patterns: list[str] | None = None):
        phrases = [re.escape(p) for p in (extra_phrases or [])]
        self._strong = _compile(list(STRONG) + phrases + list(extra_patterns or []))
        self._severity = _compile(SEVERITY)
        self._impact = _compile(IMPACT)

    def check(self, text: str) -> Verdict:
        strong = [p.pattern for p in self._strong if p.search(text)]
        if strong:
            return Verdict(True, tuple(strong))
        severity = [p.pattern for p in self._severity if p.search(text)]
        impact = [p.pattern for p in self._impact if p.search(text)]
        if (severity and impact) or len(impact) >= 2:
            return Verdict(True, tuple(severity + impact))
        return Verdict(False)
