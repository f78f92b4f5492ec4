"""A small ru→en term lexicon learned from the KB's own translated page pairs.

A bilingual KB keeps translations side by side (``helm/en/x.md`` ↔ ``helm/ru/x.md``, see
``retrieval.page_key``). Their sections are aligned by heading order and, where both sections have as many
paragraphs, the paragraphs by order; within every aligned unit the Russian stems (``rag.sparse.terms``)
co-occur with the English ones. Pairs are scored with Dice (``2·n(r,e) / (n(r) + n(e))``) and each Russian
stem keeps its best one to three English stems. At query time the English translations of a Russian
question's terms join its BM25 query with a lower weight, so English-only pages can match.

The lexicon is rebuilt by the ingestor whenever a source's documents change and persisted as JSON next to
the index (``lexicon-<source>.json``); ``LexiconFiles`` reloads it when the files change.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.sparse import terms
from rag.translit import Vocabulary

_LANG_DIR = re.compile(r"(^|/)(en|ru)(/)")
_HEADING = re.compile(r"^#{1,6}\s", re.MULTILINE)
_PARAGRAPH = re.compile(r"\n\s*\n")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN_WORD = re.compile(r"^[a-z][a-z0-9]*$")
VERSION = 1
TRANSLIT_SCORE = 0.5  # a transliterated loanword is a guess: it ranks below a translation the pairs taught


def _ru_terms(text: str) -> set[str]:
    return {t for t in terms(text) if _CYRILLIC.search(t) and len(t) > 2}


def _en_terms(text: str) -> set[str]:
    return {t for t in terms(text) if _LATIN_WORD.match(t) and len(t) > 2}


def _split(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [p for p in pattern.split(text) if p.strip()]


def _sections(text: str) -> list[str]:
    starts = [m.start() for m in _HEADING.finditer(text)]
    bounds = [0, *starts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if text[a:b].strip()]


def aligned_units(en: str, ru: str) -> list[tuple[set[str], set[str]]]:
    """Aligned (Russian terms, English terms) units of a translated page pair.

    Sections pair up by order when both versions have as many; inside a section pair, paragraphs pair up
    when their numbers match too, else the section pair is one unit. Pages whose outlines differ give none.
    """
    en_secs, ru_secs = _sections(en), _sections(ru)
    if len(en_secs) != len(ru_secs):
        return []
    units: list[tuple[str, str]] = []
    for e, r in zip(en_secs, ru_secs, strict=True):
        ep, rp = _split(e, _PARAGRAPH), _split(r, _PARAGRAPH)
        units.extend(zip(ep, rp, strict=True) if len(ep) == len(rp) else [(e, r)])
    out: list[tuple[set[str], set[str]]] = []
    for e, r in units:
        ru_t, en_t = _ru_terms(r), _en_terms(e)
        if ru_t and en_t:
            out.append((ru_t, en_t))
    return out


@dataclass(slots=True)
class Lexicon:
    """Russian stem → its English stems with their Dice scores (best first).

    ``vocab`` holds the English stems of the whole source (translated or not, so the English-only CLI
    reference's words are there): a Russian term the pairs never taught is transliterated and looked up in
    it (``rag.translit``), which is how "отрендерить" reaches "render".
    """

    entries: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    vocab: frozenset[str] = frozenset()
    _vocabulary: Vocabulary | None = field(default=None, repr=False, compare=False)

    def _borrowed(self, term: str) -> tuple[str, ...]:
        if not self.vocab or not _CYRILLIC.search(term):
            return ()
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(self.vocab)
        return self._vocabulary.match(term)

    def _lookup(self, term: str) -> list[tuple[str, float]]:
        if term in self.entries:
            return self.entries[term]
        return [(en, TRANSLIT_SCORE) for en in self._borrowed(term)]

    def translations(self, text: str) -> dict[str, frozenset[str]]:
        """Each Russian term of ``text`` that has translations → its English stems."""
        out = {t: frozenset(e for e, _ in self._lookup(t)) for t in set(terms(text))}
        return {t: v for t, v in out.items() if v}

    def translate(self, text: str) -> dict[str, float]:
        """English stems for the Russian terms of ``text`` (not already in it), each with its best score."""
        toks = set(terms(text))
        out: dict[str, float] = {}
        for t in toks:
            for en, score in self._lookup(t):
                if en not in toks:
                    out[en] = max(out.get(en, 0.0), score)
        return out

    def merge(self, other: Lexicon, top: int = 3) -> Lexicon:
        merged = {k: list(v) for k, v in self.entries.items()}
        for ru, cands in other.entries.items():
            best = dict(merged.get(ru, []))
            for en, s in cands:
                best[en] = max(best.get(en, 0.0), s)
            merged[ru] = sorted(best.items(), key=lambda x: -x[1])[:top]
        return Lexicon(merged, self.vocab | other.vocab)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        data = {
            "version": VERSION,
            "entries": {k: [[e, round(s, 4)] for e, s in v] for k, v in self.entries.items()},
            "vocab": sorted(self.vocab),
        }
        tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        data = json.loads(path.read_text())
        if data.get("version") != VERSION:
            return cls()
        entries = {k: [(e, float(s)) for e, s in v] for k, v in data["entries"].items()}
        return cls(entries, frozenset(data.get("vocab") or ()))  # files written before the vocab load too


def learn(
    docs: Iterable[tuple[str, str]],
    *,
    min_pair: int = 3,
    min_dice: float = 0.3,
    top: int = 2,
) -> Lexicon:
    """Learn a lexicon from ``(path, text)`` documents; pairs are paths differing only in ``en``/``ru``.

    Args:
        docs: Every document of a source (the untranslated ones are ignored).
        min_pair: Aligned units a Russian and an English stem must share.
        min_dice: The least Dice score kept.
        top: English stems kept per Russian stem.
    """
    pages: dict[str, dict[str, str]] = {}
    for path, text in docs:
        m = _LANG_DIR.search(path)
        if m:
            key = _LANG_DIR.sub(r"\1*\3", path, count=1)
            pages.setdefault(key, {})[m.group(2)] = text
    ru_n: Counter[str] = Counter()
    en_n: Counter[str] = Counter()
    joint: Counter[tuple[str, str]] = Counter()
    vocab = {t for versions in pages.values() if "en" in versions for t in _en_terms(versions["en"])}
    for versions in pages.values():
        if "en" not in versions or "ru" not in versions:
            continue
        for ru_t, en_t in aligned_units(versions["en"], versions["ru"]):
            ru_n.update(ru_t)
            en_n.update(en_t)
            joint.update((r, e) for r in ru_t for e in en_t)
    cands: dict[str, list[tuple[str, float]]] = {}
    for (r, e), n in joint.items():
        if n < min_pair:
            continue
        dice = 2 * n / (ru_n[r] + en_n[e])
        if dice >= min_dice:
            cands.setdefault(r, []).append((e, dice))
    entries = {r: sorted(v, key=lambda x: (-x[1], x[0]))[:top] for r, v in sorted(cands.items())}
    return Lexicon(entries, frozenset(vocab))


def lexicon_file(folder: Path, source: str) -> Path:
    """Where the lexicon learned from ``source`` is kept under the index folder."""
    return folder / f"lexicon-{hashlib.sha1(source.encode()).hexdigest()[:12]}.json"


class LexiconFiles:
    """The merged lexicons under an index folder, reloaded when a file changes (a stat per lookup)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._lexicon = Lexicon()

    def current(self) -> Lexicon:
        try:
            files = sorted(self.folder.glob("lexicon-*.json"))
            stamp = tuple((f.name, (st := f.stat()).st_mtime_ns, st.st_size) for f in files)
        except OSError:
            return self._lexicon
        if stamp != self._stamp:
            lex = Lexicon()
            for f in files:
                try:
                    lex = lex.merge(Lexicon.load(f))
                except (OSError, ValueError, KeyError):
                    continue
            self._lexicon, self._stamp = lex, stamp
        return self._lexicon

    def translate(self, text: str) -> dict[str, float]:
        return self.current().translate(text)

    def translations(self, text: str) -> dict[str, frozenset[str]]:
        return self.current().translations(text)
