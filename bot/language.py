"""Reply language: Russian or English, from the question's letters."""

from __future__ import annotations

import re

from bot.types import Lang

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")
_CODE = re.compile(r"`[^`]*`|```.*?```|\S+[/.=_:-]\S+", re.S)


def detect_lang(text: str, default: Lang = "en") -> Lang:
    """``ru`` when Cyrillic letters dominate the prose (code, flags and paths are not counted)."""
    prose = _CODE.sub(" ", text)
    cyr = len(_CYRILLIC.findall(prose))
    lat = len(_LATIN.findall(prose))
    if cyr == 0 and lat == 0:
        cyr, lat = len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
        if cyr == 0 and lat == 0:
            return default
    # Russian developers write English terms in Russian sentences: a third of Cyrillic is enough.
    return "ru" if cyr >= 0.3 * (cyr + lat) else "en"
