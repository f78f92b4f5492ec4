"""Escalation: incident detection, paging on-call targets, the thread's lifecycle, knowledge capture."""

from bot.escalation.base import NOT_PAGED, Escalation, Escalator, LogEscalator, PageOutcome, page_notice
from bot.escalation.detection import CriticalDetector, Verdict

__all__ = [
    "NOT_PAGED",
    "CriticalDetector",
    "Escalation",
    "Escalator",
    "LogEscalator",
    "PageOutcome",
    "Verdict",
    "page_notice",
]
