"""What moves a question's page ranking beyond its words: the asker's role and other people's votes."""

from __future__ import annotations

from bot.feedback_learning import FeedbackMemory
from rag.boosts import PageBooster
from rag.roles import RoleBooster


class Boosts:
    """The page boosters for one question (``rag.boosts``); none when nothing applies."""

    def __init__(self, *, role_boost: float = 0.0, feedback: FeedbackMemory | None = None) -> None:
        self.role_boost = role_boost
        self.feedback = feedback

    async def for_question(self, role: str | None) -> list[PageBooster]:
        out: list[PageBooster] = []
        if role and (booster := RoleBooster(role, self.role_boost)).active:
            out.append(booster)
        if self.feedback is not None and (votes := await self.feedback.booster()) is not None:
            out.append(votes)
        return out
