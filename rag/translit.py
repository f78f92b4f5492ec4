"""Russian developer words borrowed from English, matched to the English vocabulary by transliteration.

Russian engineers write "отрендерить", "задеплоить", "манифест", "линтер": English words in Cyrillic,
often with a Russian verb prefix. The learned lexicon (``rag.lexicon``) only knows the words its translated
page pairs use, and the English-only pages (the Helm CLI reference) have no pairs. Here a Russian stem is
transliterated, a verb prefix is tried off, and the result is looked up among the English stems of the
knowledge base itself: exactly, as a prefix of one (five letters or more), or, for a whole word of six
letters or more, as a near spelling (``difflib`` ratio ≥ 0.86, same first letter). The KB's own vocabulary,
the reference's included, is the dictionary.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from functools import lru_cache

_TABLE = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
# verb prefixes that Russian glues onto borrowed stems: от-рендерить, за-деплоить, пере-билдить
_PREFIXES = ("пере", "раз", "рас", "от", "за", "вы", "под", "пред", "про", "по", "на", "до", "с")
MIN_LEN = 4


def transliterate(word: str) -> str:
    return "".join(_TABLE.get(ch, ch) for ch in word.lower())


def _candidates(stem: str) -> list[str]:
    out = [transliterate(stem)]
    for p in _PREFIXES:
        if stem.startswith(p) and len(stem) - len(p) >= MIN_LEN:
            out.append(transliterate(stem[len(p) :]))
    return out


class Vocabulary:
    """English stems of the knowledge base, for matching transliterated Russian stems."""

    def __init__(self, stems: Iterable[str]) -> None:
        self.stems = frozenset(s for s in stems if s.isascii() and s.isalpha() and len(s) >= MIN_LEN)
        self._by_first: dict[str, list[str]] = {}
        for s in sorted(self.stems):
            self._by_first.setdefault(s[0], []).append(s)
        self.match = lru_cache(maxsize=4096)(self._match)

    def __bool__(self) -> bool:
        return bool(self.stems)

    def _match(self, ru_stem: str) -> tuple[str, ...]:
        if len(ru_stem) < MIN_LEN:
            return ()
        for n, cand in enumerate(_candidates(ru_stem)):
            if len(cand) < MIN_LEN:
                continue
            if cand in self.stems:
                return (cand,)
            pool = self._by_first.get(cand[0], [])
            if len(cand) >= 5:
                longer = [s for s in pool if s.startswith(cand) and len(s) - len(cand) <= 2]
                if longer:
                    return (min(longer, key=len),)
            # a near spelling only for the whole word: a guessed prefix plus a guessed spelling is noise
            if n == 0 and len(cand) >= 6:
                close = difflib.get_close_matches(cand, pool, n=1, cutoff=0.86)
                if close:
                    return (close[0],)
        return ()
