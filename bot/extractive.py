"""The extractive answer: no language model, the best passages quoted with their section titles.

It is the default when no LLM is configured and the fallback of last resort when every provider fails.
From each of the top passages it quotes the blocks (paragraphs, list items, whole code blocks) that share
the most terms with the question, in document order, so the answer stays short and keeps the key facts.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.generation import GenerationDone, GenerationEvent, GenerationRequest, TextDelta
from bot.texts import t
from bot.types import Passage
from rag.sparse import terms as sparse_terms

_ITEM = re.compile(r"\s*([-*+]|\d+\.)\s")


def terms(text: str) -> set[str]:
    """Stemmed content words and whole identifiers (the same analysis as the BM25 index)."""
    return set(sparse_terms(text))


def split_blocks(text: str) -> list[str]:
    """Paragraphs and list items, with fenced code blocks kept whole."""
    blocks: list[str] = []
    current: list[str] = []
    in_code = False
    for line in text.splitlines():
        fence = line.lstrip().startswith(("```", "~~~"))
        if in_code:
            current.append(line)
            if fence:
                blocks.append("\n".join(current))
                current, in_code = [], False
            continue
        if fence:
            if current:
                blocks.append("\n".join(current))
            current, in_code = [line], True
        elif not line.strip():
            if current:
                blocks.append("\n".join(current))
            current = []
        elif (
            re.match(r"\s*([-*+]|\d+\.)\s", line)
            and current
            and not re.match(r"\s*([-*+]|\d+\.)\s", current[0])
        ):
            blocks.append("\n".join(current))
            current = [line]
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current) + ("\n```" if in_code else ""))
    return [b for b in (b.strip("\n") for b in blocks) if b.strip()]


@dataclass(frozen=True, slots=True)
class Excerpt:
    passage: Passage
    text: str


def best_excerpt(question_terms: set[str], passage: Passage, budget: int) -> str:
    """The passage's best-matching block, grown with its neighbours while within ``budget`` characters."""
    blocks = split_blocks(passage.text)
    if not blocks:
        return ""
    scores = [len(question_terms & terms(b)) + (0.5 if "`" in b else 0.0) for b in blocks]
    best = max(range(len(blocks)), key=lambda i: (scores[i], -i))
    chosen = {best}
    size = len(blocks[best])

    def joins(i: int) -> bool:
        """A neighbour joins when it is relevant itself, or it is the lead-in ("...:") of its successor."""
        if scores[i] >= 1:
            return True
        lead_in = blocks[i] if i < best else blocks[i - 1]
        return lead_in.rstrip().endswith(":")

    lo, hi = best - 1, best + 1
    while True:
        candidates = [i for i in (hi, lo) if 0 <= i < len(blocks) and joins(i)]
        if not candidates:
            break
        nxt = max(candidates, key=lambda i: (scores[i], i == hi))
        if size + len(blocks[nxt]) > budget:
            break
        chosen.add(nxt)
        size += len(blocks[nxt])
        lo, hi = (lo - 1, hi) if nxt == lo else (lo, hi + 1)
    text = "\n\n".join(blocks[i] for i in sorted(chosen))
    if len(text) > budget * 2 and "```" not in text:  # a single huge paragraph: cut at a sentence
        cut = text.rfind(". ", 0, budget * 2)
        text = text[: cut + 1 if cut > 0 else budget * 2] + " …"
    return text


class ExtractiveGenerator:
    """An ``AnswerGenerator`` that quotes the documentation instead of writing new text."""

    name = "extractive"

    def __init__(self, passages: int = 3, first_budget: int = 900, other_budget: int = 450) -> None:
        self.passages = passages
        self.first_budget = first_budget
        self.other_budget = other_budget

    def compose(self, request: GenerationRequest) -> tuple[str, tuple[int, ...]]:
        """The answer text and the 1-based numbers of the passages it quotes."""
        question_terms = terms(request.question)
        parts = [t("extractive_intro", request.lang)]
        cited: list[int] = []
        for number, passage in enumerate(request.passages[: self.passages], start=1):
            budget = self.first_budget if number == 1 else self.other_budget
            excerpt = best_excerpt(question_terms, passage, budget)
            if not excerpt:
                continue
            heading = passage.title
            if passage.section and passage.section != passage.title:
                heading = f"{passage.title} › {passage.section}"
            parts.append(f"**[{number}] {heading}**\n\n{excerpt}")
            cited.append(number)
        return "\n\n".join(parts), tuple(cited)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        text, cited = self.compose(request)
        yield TextDelta(text)
        yield GenerationDone(provider=self.name, cited=cited)
