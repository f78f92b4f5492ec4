"""Grounded prompts from the template files in ``bot/prompts/`` and sticky A/B prompt variants.

Passages are fenced in ``<passage n="…">`` tags and any tag-like text inside them is neutralised, so a
document that says "ignore previous instructions" stays quoted data.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.generation import GenerationRequest, source_number
from bot.types import ROLES, Passage
from providers.base import ChatMessage

PROMPTS_DIR = Path(__file__).parent / "prompts"
CONTROL = "control"
_FENCE = re.compile(r"</?\s*(passages?)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    weight: float


def choose_variant(conversation_key: str, variants: Sequence[Variant]) -> str:
    """Sticky per conversation: a stable hash of the key picks a point on the weights' line."""
    live = [v for v in variants if v.weight > 0]
    if not live:
        return CONTROL
    total = sum(v.weight for v in live)
    digest = hashlib.sha256(conversation_key.encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * total
    for variant in live:
        point -= variant.weight
        if point < 0:
            return variant.name
    return live[-1].name


def neutralise(text: str) -> str:
    """Passage-like tags in ``text`` lose their ``<``: they can neither open nor close a fence."""
    return _FENCE.sub(lambda m: m.group(0).replace("<", "‹"), text)


def fence(passages: Sequence[Passage]) -> str:
    blocks = []
    for i, passage in enumerate(passages):
        n = source_number(passage, i)  # passages of one page share its number
        title = _attr(passage.title + (f" — {passage.section}" if passage.section else ""))
        text = neutralise(passage.text.strip())
        blocks.append(f'<passage n="{n}" title="{title}">\n{text}\n</passage>')
    return "\n".join(blocks)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


class PromptLibrary:
    """Loads templates (base, overridden per variant) and renders the chat messages of a request."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or PROMPTS_DIR

    def text(self, name: str, lang: str, variant: str = CONTROL) -> str:
        return _read(self.root, name, lang, variant)

    def abstain_sentence(self, lang: str, variant: str = CONTROL) -> str:
        return self.text("abstain.txt", lang, variant).strip()

    def messages(
        self, request: GenerationRequest, variant: str = CONTROL, *, history_turns: int = 6
    ) -> list[ChatMessage]:
        lang = request.lang
        role = request.role if request.role in ROLES else "default"
        system = _fill(
            self.text("system.md", lang, variant),
            role_note=self.text(f"role_{role}.md", lang, variant).strip(),
            abstain=self.abstain_sentence(lang, variant),
            style=self.text("style.md", lang, variant).strip(),
        )
        user = _fill(
            self.text("user.md", lang, variant),
            passages=fence(request.passages),
            question=neutralise(request.question),  # a question cannot forge a passage either
        )
        messages = [ChatMessage("system", system.strip())]
        for turn in request.history[-history_turns:] if history_turns else []:
            messages.append(ChatMessage(turn.role, turn.text))
        messages.append(ChatMessage("user", user.strip()))
        return messages


def _fill(template: str, **values: str) -> str:
    # One pass over the template, not str.format nor chained replaces: passages and questions may contain
    # braces, and a passage saying "{question}" must stay literal text.
    names = "|".join(re.escape(k) for k in values)
    return re.sub(r"\{(" + names + r")\}", lambda m: values[m.group(1)], template)


@lru_cache(maxsize=256)
def _read(root: Path, name: str, lang: str, variant: str) -> str:
    if variant != CONTROL:
        override = root / "variants" / variant / lang / name
        if override.is_file():
            return override.read_text(encoding="utf-8")
    return (root / lang / name).read_text(encoding="utf-8")
