"""Client-side BM25 sparse vectors, identical for every vector store.

Terms are Unicode word tokens stemmed per token (Snowball: Russian for Cyrillic, English for Latin) plus
whole technical identifiers (``werf.io/replicas-on-creation``, ``--copy-from``, ``values.yaml``), hashed
to stable uint32 indices with BLAKE2b. Document values carry BM25's term-frequency saturation and length
normalization; the store's IDF modifier supplies the IDF, so a dot product is BM25.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import lru_cache

import Stemmer

from rag.types import SparseVector

_WORD = re.compile(r"\w+", re.UNICODE)
# identifiers: words joined by . / - : (at least one joiner), e.g. werf.io/weight, helm.sh/hook, --copy-from
_IDENT = re.compile(r"(?<![\w.\-/])-{0,2}\w+(?:[./:\-]+\w+)+")
# prose, not identifiers: single letters joined up (e.g., i.e., a/b, т.е., т.к.)
_ABBREVIATION = re.compile(r"[^\W\d_](?:[./:\-]+[^\W\d_])+")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[a-z]")
_STEMMERS = {"ru": Stemmer.Stemmer("russian"), "en": Stemmer.Stemmer("english")}
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from as is are was were be been being it its this
    that these those i you we they he she my our your their me us do does did how what why when where which
    who can could should would will shall may might must not no so than then there here have has had just
    about into over also any some all only very more most such each via use using get want need there's
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было вот
    от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас нибудь опять
    уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб
    без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом
    один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два об другой хоть
    после над больше тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой
    перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это нужно можно ли
    """.split()
)
K1 = 1.2
B = 0.75
AVG_DOC_TOKENS = 120.0  # typical number of terms in an indexed chunk (title + breadcrumb + text)


@lru_cache(maxsize=200_000)
def _stem(token: str) -> str:
    if _CYRILLIC.search(token):
        return _STEMMERS["ru"].stemWord(token.replace("ё", "е"))
    if _LATIN.search(token):
        return _STEMMERS["en"].stemWord(token)
    return token


@lru_cache(maxsize=400_000)
def term_index(term: str) -> int:
    """Stable uint32 index of a term (not Python's salted ``hash()``)."""
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")


def terms(text: str, *, drop_stopwords: bool = True) -> list[str]:
    """Stemmed word terms followed by ``id:``-prefixed whole identifiers, in text order."""
    low = text.lower()
    out = _word_stems(low, drop_stopwords)
    out.extend("id:" + x for x in _identifiers(low))
    return out


def _word_stems(low: str, drop_stopwords: bool = True) -> list[str]:
    return [_stem(w) for w in _WORD.findall(low) if not (drop_stopwords and w in STOPWORDS)]


@lru_cache(maxsize=8192)
def word_terms(text: str) -> frozenset[str]:
    """The distinct stemmed word terms of ``text`` (no identifiers), cached: ranking asks for the same
    candidate passages' terms question after question."""
    return frozenset(_word_stems(text.lower()))


def _identifiers(low: str) -> list[str]:
    found = (m.group(0).lstrip("-").rstrip(".:-/") for m in _IDENT.finditer(low))
    return [x for x in found if not _ABBREVIATION.fullmatch(x)]


def identifiers(text: str) -> set[str]:
    """The whole technical identifiers in ``text`` (lowercased), e.g. ``werf.io/weight``."""
    return set(_identifiers(text.lower()))


def _vector(weights: dict[int, float]) -> SparseVector:
    items = sorted(weights.items())
    return SparseVector(indices=[i for i, _ in items], values=[v for _, v in items])


def document_vector(text: str, *, avg_len: float = AVG_DOC_TOKENS) -> SparseVector:
    """BM25 document side: ``tf·(k1+1) / (tf + k1·(1 − b + b·len/avg_len))`` per term."""
    toks = terms(text)
    norm = K1 * (1 - B + B * len(toks) / avg_len)
    weights: dict[int, float] = {}
    for term, tf in Counter(toks).items():
        idx = term_index(term)
        weights[idx] = weights.get(idx, 0.0) + tf * (K1 + 1) / (tf + norm)
    return _vector(weights)


def query_vector(text: str, extra: dict[str, float] | None = None) -> SparseVector:
    """BM25 query side: weight 1 per distinct term (IDF comes from the store).

    ``extra``: further terms with their (lower) weights, e.g. translations of the query's terms; a term
    already in the query keeps weight 1.
    """
    weights = {term_index(t): w for t, w in (extra or {}).items() if w > 0}
    weights.update({term_index(t): 1.0 for t in set(terms(text))})
    return _vector(weights)
