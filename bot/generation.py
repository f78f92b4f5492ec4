"""The seam between retrieval and the words of an answer.

The engine hands an ``AnswerGenerator`` the question, its passages and the thread's history; the generator
streams text. Two generators exist: the extractive one (no LLM, the fallback of last resort) and the LLM
one built on the provider router. The engine knows only this protocol.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.types import Lang, Passage


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier message of the thread."""

    role: Literal["user", "assistant"]
    text: str


@dataclass(slots=True)
class GenerationRequest:
    question: str
    lang: Lang
    role: str
    passages: list[Passage]
    history: list[Turn] = field(default_factory=list)
    conversation_key: str = ""  # stable per conversation: sticky A/B variants hash it
    partial_index: bool = False  # the index is still being built


def source_number(passage: Passage, index: int) -> int:
    """The [n] a passage is cited by: its page's number among the sources (``index`` is its 0-based
    position, used when the passages are not grouped by page)."""
    return passage.page or index + 1


def source_count(passages: list[Passage]) -> int:
    return max((source_number(p, i) for i, p in enumerate(passages)), default=0)


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A one-line notice to show beside the answer (e.g. "answered without the language model")."""

    text: str


@dataclass(frozen=True, slots=True)
class GenerationDone:
    """Last event of a generation: who answered and which passages the answer cites (1-based)."""

    provider: str
    variant: str | None = None
    cited: tuple[int, ...] = ()
    abstained: bool = False


GenerationEvent = TextDelta | Notice | GenerationDone


class AnswerGenerator(Protocol):
    name: str

    def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        """Stream the answer; the last event is always a ``GenerationDone``."""
        ...
