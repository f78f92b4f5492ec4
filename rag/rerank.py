"""Second-stage ranking from score features (no cross-encoder can run offline here from a pip package).

Features per candidate chunk: the exact dense cosine, the BM25 score (relative to the best candidate),
weighted reciprocal-rank fusion of both lists, how many query terms the title and heading path contain,
exact technical identifiers of the query found in the chunk (``werf.io/replicas-on-creation``,
``--copy-from``), how much of the query the chunk covers, and whether the chunk is in the query's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rag.sparse import identifiers, terms, word_terms
from rag.types import ScoredChunk


@dataclass(frozen=True, slots=True)
class RankWeights:
    dense: float = 1.0  # RRF weight of the dense list
    sparse: float = 1.0  # RRF weight of the BM25 list
    rrf_k: int = 60
    cosine: float = 10.0  # per unit of cosine above the best candidate's (negative offsets)
    bm25: float = 0.15  # BM25 score relative to the best candidate
    title: float = 0.15  # share of query terms in title + breadcrumb
    ident: float = 0.4  # share of query identifiers found verbatim in the chunk
    coverage: float = 0.1  # share of query terms in the chunk
    lang: float = 0.0  # chunk language equals the query's (pages are pooled across translations instead)
    same_doc: float = 0.3  # page bonus per further matching passage (retrieval.rank_pages)
    damping: float = 0.5  # each further passage counts this much less than the previous one
    card: float = 0.3  # page bonus from its card (title + outline + first paragraph)
    hub: float = 0.1  # page penalty per log of its matching passages (a broad hub page matches everywhere)
    translated: float = 1.0  # BM25 query weight of a Russian term's English translations (rag.lexicon)
    cross_lang: float = 1.0  # share of the cross-language cosine gap closed (see ``language_offsets``)


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    terms: frozenset[str]
    idents: frozenset[str]
    lang: str | None
    alt: dict[str, frozenset[str]] = field(default_factory=dict)  # term → its translations (rag.lexicon)

    @classmethod
    def parse(cls, text: str, lang: str | None, alt: dict[str, frozenset[str]] | None = None) -> Query:
        return cls(
            text,
            frozenset(t for t in terms(text) if not t.startswith("id:")),
            frozenset(identifiers(text)),
            lang,
            alt or {},
        )


@dataclass(slots=True)
class Features:
    cosine: float  # corrected for the cross-language gap (``language_offsets``); ranks
    raw_cosine: float  # as the model gave it; calibrates ``relevance``
    bm25: float
    rrf: float
    title: float
    ident: float
    coverage: float
    lang: float


@lru_cache(maxsize=4096)
def _lower(text: str) -> str:
    return text.lower()


def _share(
    needles: frozenset[str], hay: frozenset[str], alt: dict[str, frozenset[str]] | None = None
) -> float:
    """Share of ``needles`` in ``hay``; a needle also counts when a translation of it (``alt``) is there."""
    if not needles:
        return 0.0
    alt = alt or {}
    return sum(1 for t in needles if t in hay or not alt.get(t, frozenset()).isdisjoint(hay)) / len(needles)


def language_offsets(
    query_lang: str | None, hits: list[ScoredChunk], share: float
) -> dict[str | None, float]:
    """Per-language cosine offsets that close ``share`` of the gap to the query's language.

    A multilingual encoder scores a passage in the question's own language higher than an equally relevant
    one in another language: measured on the sample KB, a Russian question's best English passage sits
    about 0.04-0.05 below its best Russian one even when the English page is the answer (English-only
    reference pages). Each other language's candidates are lifted by ``share`` of the gap between the
    best candidate in the query's language and the best in theirs, so ranking compares passages within
    their language. Languages with no candidates, or a query of unknown language, get no offset.
    """
    if not query_lang or share <= 0:
        return {}
    best: dict[str | None, float] = {}
    for h in hits:
        if h.dense_score is not None:
            best[h.chunk.lang] = max(best.get(h.chunk.lang, -1.0), h.dense_score)
    own = best.get(query_lang)
    if own is None:
        return {}
    return {lang: share * max(0.0, own - b) for lang, b in best.items() if lang and lang != query_lang}


def extract(query: Query, hits: list[ScoredChunk], w: RankWeights) -> list[Features]:
    """Features of every candidate (the list as the store returned it)."""
    raw = [h.dense_score if h.dense_score is not None else -1.0 for h in hits]
    offsets = language_offsets(query.lang, hits, w.cross_lang)
    cos = [c + offsets.get(h.chunk.lang, 0.0) for c, h in zip(raw, hits, strict=True)]
    bm = [h.sparse_score or 0.0 for h in hits]
    dense_rank = {i: r for r, i in enumerate(sorted(range(len(hits)), key=lambda i: -cos[i]))}
    sparse_order = sorted(
        (i for i in range(len(hits)) if hits[i].sparse_score is not None), key=lambda i: -bm[i]
    )
    sparse_rank = {i: r for r, i in enumerate(sparse_order)}
    best_bm = max(bm, default=0.0) or 1.0
    out: list[Features] = []
    for i, hit in enumerate(hits):
        c = hit.chunk
        text = c.index_text()
        head_terms = word_terms(" ".join([c.title, *c.breadcrumb]))
        body_terms = word_terms(text)
        low = _lower(text) if query.idents else ""
        rrf = w.dense / (w.rrf_k + dense_rank[i] + 1)
        if i in sparse_rank:
            rrf += w.sparse / (w.rrf_k + sparse_rank[i] + 1)
        out.append(
            Features(
                cosine=cos[i],
                raw_cosine=raw[i],
                bm25=bm[i] / best_bm,
                rrf=rrf,
                title=_share(query.terms, head_terms, query.alt),
                ident=sum(1 for x in query.idents if x in low) / len(query.idents) if query.idents else 0.0,
                coverage=_share(query.terms, body_terms, query.alt),
                lang=1.0 if query.lang and c.lang == query.lang else 0.0,
            )
        )
    return out


def rank_score(f: Features, best_cosine: float, best_rrf: float, w: RankWeights) -> float:
    """The ranking score: fused rank plus feature evidence (higher is better)."""
    return (
        f.rrf / (best_rrf or 1.0)
        + w.cosine * (f.cosine - best_cosine)
        + w.bm25 * f.bm25
        + w.title * f.title
        + w.ident * f.ident
        + w.coverage * f.coverage
        + w.lang * f.lang
    )
