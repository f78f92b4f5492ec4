"""Russian or English by the letters of a text: the one rule the loader, retrieval and the bot share."""

from __future__ import annotations

import re
from typing import Literal

LANGS: tuple[Literal["ru", "en"], ...] = ("ru", "en")  # the languages pages and questions are told apart in
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")


def lang_by_letters(text: str) -> Literal["ru", "en"] | None:
    """``ru`` when at least a third of the letters are Cyrillic (Russian developers write English terms in
    Russian sentences), ``en`` otherwise, ``None`` when the text has no letters at all."""
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    if cyr == 0 and lat == 0:
        return None
    return "ru" if cyr >= 0.3 * (cyr + lat) else "en"
