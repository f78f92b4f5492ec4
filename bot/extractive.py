"""The extractive answer: no language model, the best passages quoted with their section titles.

It is the default when no LLM is configured and the fallback of last resort when every provider fails.
From each of the top passages it quotes the blocks (paragraphs, list items, whole code blocks) that share
the most terms with the question, in document order, so the answer stays short and keeps the key facts.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.generation import GenerationDone, GenerationEvent, GenerationRequest, TextDelta, source_number
from bot.texts import t
from bot.types import Passage
from rag.sparse import terms as sparse_terms

_ITEM = re.compile(r"\s*([-*+]|\d+\.)\s")
_HEADING = re.compile(r"#{1,6}\s[^\n]*$")
# a link whose target the docs' site generator left empty: "[**werf host cleanup**]()" reads as plain text
_EMPTY_LINK = re.compile(r"(?<!!)\[([^\[\]\n]+)\]\(\s*\)")


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def terms(text: str) -> set[str]:
    """Stemmed content words and whole identifiers (the analysis of the BM25 index), plus the parts of
    ``snake_case``/``camelCase``/``kebab-case`` names, so "secret key" meets ``WERF_SECRET_KEY``."""
    parts = _CAMEL.sub(" ", text).replace("_", " ").replace("-", " ")
    return set(sparse_terms(text)) | set(sparse_terms(parts))


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


@dataclass(slots=True)
class Block:
    passage: int  # 0-based index into the request's passages
    ordinal: int  # position inside the passage
    text: str
    terms: set[str]
    score: float = 0.0


def score_blocks(question: str, passages: list[Passage]) -> list[Block]:
    """Every block of every passage, scored by the question terms it holds, rarer terms weighing more.

    Rarity is measured over the candidate blocks themselves (an IDF over this answer's material), so an
    identifier like ``excludePaths`` outweighs "image" in a page about images. Higher-ranked passages get a
    small edge.
    """
    wanted = terms(question)
    blocks = [
        Block(i, j, text, terms(text))
        for i, p in enumerate(passages)
        for j, text in enumerate(split_blocks(p.text))
    ]
    df: dict[str, int] = {}
    for b in blocks:
        for term in b.terms & wanted:
            df[term] = df.get(term, 0) + 1
    n = len(blocks) or 1
    avg_len = sum(len(b.text) for b in blocks) / n if blocks else 1.0
    for b in blocks:
        if _HEADING.match(b.text):
            continue  # a heading alone says nothing; the passage's section title is shown anyway
        matched = b.terms & wanted
        idf = sum(math.log(1 + n / df[term]) * (2.0 if term.startswith("id:") else 1.0) for term in matched)
        # BM25-style length normalisation: a long paragraph that mentions everything a little loses to a
        # short one that states the answer
        b.score = idf / (0.5 + 0.5 * len(b.text) / avg_len) * (1.0 - 0.08 * b.passage)
    return blocks


def select_blocks(blocks: list[Block], budget: int) -> list[Block]:
    """The best-scoring blocks (each with its lead-in line) within ``budget`` characters, in reading order."""
    by_key = {(b.passage, b.ordinal): b for b in blocks}
    chosen: dict[tuple[int, int], Block] = {}
    size = 0
    for b in sorted((b for b in blocks if b.score > 0), key=lambda b: -b.score):
        group = [b]
        lead = by_key.get((b.passage, b.ordinal - 1))
        if lead is not None and lead.text.rstrip().endswith(":"):
            group.insert(0, lead)
        new = [g for g in group if (g.passage, g.ordinal) not in chosen]
        cost = sum(len(g.text) for g in new)
        if chosen and size + cost > budget:
            continue
        for g in new:
            chosen[(g.passage, g.ordinal)] = g
        size += cost
        if size >= budget:
            break
    return [chosen[k] for k in sorted(chosen)]


def _trim(text: str, limit: int) -> str:
    """A very long prose block is cut at a sentence; code is never cut."""
    if len(text) <= limit or "```" in text:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1 if cut > 0 else limit] + " …"


class ExtractiveGenerator:
    """An ``AnswerGenerator`` that quotes the documentation instead of writing new text."""

    name = "extractive"

    def __init__(self, passages: int = 5, budget: int = 1800) -> None:
        self.passages = passages
        self.budget = budget

    def compose(self, request: GenerationRequest) -> tuple[str, tuple[int, ...]]:
        """The answer text and the 1-based numbers of the passages it quotes."""
        passages = request.passages[: self.passages]
        chosen = select_blocks(score_blocks(request.question, passages), self.budget)
        if not chosen and passages:  # nothing matched word for word: quote the top passage's opening
            chosen = [
                Block(0, 0, split_blocks(passages[0].text)[0] if passages[0].text.strip() else "", set())
            ]
        parts = [t("extractive_intro", request.lang)]
        cited: list[int] = []
        for index in sorted({b.passage for b in chosen}):
            passage = passages[index]
            number = source_number(passage, index)
            heading = passage.title
            if passage.section and passage.section != passage.title:
                heading = f"{passage.title} › {passage.section}"
            body = "\n\n".join(
                _trim(_EMPTY_LINK.sub(r"\1", b.text), self.budget) for b in chosen if b.passage == index
            )
            parts.append(f"**[{number}] {heading}**\n\n{body}")
            if number not in cited:
                cited.append(number)
        return "\n\n".join(parts), tuple(cited)

    async def generate(self, request: GenerationRequest) -> AsyncIterator[GenerationEvent]:
        text, cited = self.compose(request)
        yield TextDelta(text)
        yield GenerationDone(provider=self.name, cited=cited)
