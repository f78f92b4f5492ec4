"""Reply language: Russian or English, from the question's letters or the user's choice."""

from __future__ import annotations

import re

from bot.types import Lang
from rag.language import lang_by_letters

_CODE = re.compile(r"`[^`]*`|```.*?```|\S+[/.=_:-]\S+", re.S)


def detect_lang(text: str, default: Lang = "en") -> Lang:
    """``ru`` when Cyrillic letters dominate the prose (code, flags and paths are not counted)."""
    return lang_by_letters(_CODE.sub(" ", text)) or lang_by_letters(text) or default


def known_lang(value: str | None) -> Lang | None:
    """``value`` when it is a language Opora speaks (a stored preference may be anything)."""
    return value if value in ("ru", "en") else None  # type: ignore[return-value]


def reply_lang(forced: Lang | None, preferred: str | None, text: str, default: Lang) -> Lang:
    """The reply language: forced by the channel, else the user's preference, else the text's."""
    return forced or known_lang(preferred) or detect_lang(text, default)
