"""Hybrid retrieval: dense + BM25 candidates fused in the store, re-ranked, diversified, thresholded."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal, Protocol

import numpy as np
import structlog

from rag import rerank as ranking
from rag.access import AccessScope
from rag.boosts import Adjustment, Candidate, PageBooster, combine
from rag.calibration import Calibration, CalibrationFile, builtin
from rag.language import LANGS
from rag.lexicon import Lexicon, LexiconFiles
from rag.loaders.folder import detect_lang
from rag.sparse import query_vector
from rag.types import Chunk, Embedder, ScoredChunk, SparseVector

log = structlog.get_logger(__name__)
Mode = Literal["final", "rrf", "dense", "sparse"]
_NOISE = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]+")


class HybridStore(Protocol):
    """What the retriever needs of a vector store (both stores in ``rag.stores`` provide it). ``access``
    is the permission filter (``rag.access``): ``None`` searches public points only."""

    async def hybrid_query(
        self,
        dense: np.ndarray,
        sparse: SparseVector,
        *,
        limit: int,
        candidates: int,
        filters: dict[str, str] | None = None,
        weights: tuple[float, float] | None = None,
        rrf_k: int = 60,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]: ...

    async def dense_query(
        self,
        dense: np.ndarray,
        *,
        limit: int,
        filters: dict[str, str] | None = None,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]: ...

    async def sparse_query(
        self,
        sparse: SparseVector,
        *,
        limit: int,
        filters: dict[str, str] | None = None,
        access: AccessScope | None = None,
    ) -> list[ScoredChunk]: ...


@dataclass(frozen=True, slots=True)
class RetrieverConfig:
    top_k: int = 5
    candidates: int = 80
    min_score: float | None = (
        None  # on the relevance of the best of the top 3 chunks; None: the calibration's
    )
    max_chunks_per_doc: int = 3
    cross_candidates: int = 40  # dense candidates from each other language (0: none); see ``retrieve``
    rerank: bool = True  # False: plain weighted RRF order
    weights: ranking.RankWeights = field(default_factory=ranking.RankWeights)


@dataclass(slots=True)
class RetrievalResult:
    """Ranked chunks (``score``: calibrated relevance in [0, 1]); ``passed``: the best clears the bar."""

    chunks: list[ScoredChunk]
    passed: bool
    query: str
    lang: str | None
    best: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    why: dict[str, tuple[str, ...]] = field(default_factory=dict)  # doc id → what moved its page (boosts)
    evidence: list[tuple[float, float, float]] = field(
        default_factory=list
    )  # top 3: cosine, coverage, idents


def normalize_query(text: str) -> str:
    """Drop emoji and collapse whitespace; keep case and punctuation (identifiers matter)."""
    return re.sub(r"\s+", " ", _NOISE.sub(" ", text)).strip()


def diversify(hits: list[ScoredChunk], per_doc: int) -> list[ScoredChunk]:
    """Keep at most ``per_doc`` chunks of each document, order preserved."""
    seen: dict[str, int] = {}
    out: list[ScoredChunk] = []
    for hit in hits:
        n = seen.get(hit.chunk.doc_id, 0)
        if n < per_doc:
            seen[hit.chunk.doc_id] = n + 1
            out.append(hit)
    return out


_LANG_DIR = re.compile(r"(^|/)(en|ru)(/)")


def page_key(chunk: Chunk) -> str:
    """One key for the translations of a page: paths that differ only in the language segment.

    ``werf/en/usage/x.md`` and ``werf/ru/usage/x.md`` are the same page in two languages; a bilingual KB
    keeps them side by side, so their evidence is pooled and the reader's language picks the version shown.
    """
    return _page_of(chunk.path or chunk.doc_id)


@lru_cache(maxsize=65536)
def _page_of(path: str) -> str:  # asked for every candidate of every question: a KB's paths, remembered
    return _LANG_DIR.sub(r"\1*\3", path, count=1)


@dataclass(slots=True)
class _Page:
    key: str
    keys: list[float] = field(default_factory=list)  # normalised scores of its passages (all versions)
    card: float = 0.0  # normalised score of its best card
    versions: dict[str, list[int]] = field(default_factory=dict)  # doc_id → candidate indexes (passages)
    langs: dict[str, str | None] = field(default_factory=dict)  # doc_id → language

    def score(self, w: ranking.RankWeights) -> float:
        top = sorted(self.keys, reverse=True)
        first = top[0] if top else 0.0
        bonus = sum(k * w.damping**j for j, k in enumerate(top[1:4]))
        breadth = math.log(max((len(v) for v in self.versions.values()), default=1))
        return first + w.same_doc * bonus + w.card * self.card - w.hub * breadth


Adjust = Callable[[list[Candidate]], dict[str, Adjustment]]


def rank_pages(
    hits: list[ScoredChunk],
    keys: list[float],
    lang: str | None,
    w: ranking.RankWeights,
    adjust: Adjust | None = None,
) -> list[int]:
    """Document-level ranking: candidate indexes of the passages to show, best page first.

    Chunk scores (min-max normalised over the candidates) are pooled per page across its translations:
    the best passage, a damped bonus for further matching passages, and the page card's score, minus a
    breadth penalty (log of its matching passages: a broad hub page matches many questions a little).
    Pages are ordered by that; each page then shows its version in ``lang`` when that version is among the
    candidates (else the best-scoring version), passages in score order. Cards are never shown.
    ``adjust`` (``rag.boosts``) adds bounded changes to page scores (the asker's role, votes).
    """
    if not keys:
        return []
    lo, hi = min(keys), max(keys)
    norm = [(k - lo) / (hi - lo) if hi > lo else 1.0 for k in keys]
    pages: dict[str, _Page] = {}
    for i, hit in enumerate(hits):
        c = hit.chunk
        page = pages.setdefault(page_key(c), _Page(page_key(c)))
        if c.kind == "card":
            page.card = max(page.card, norm[i])
            continue
        page.keys.append(norm[i])
        page.versions.setdefault(c.doc_id, []).append(i)
        page.langs[c.doc_id] = c.lang
    live = [p for p in pages.values() if p.versions]
    delta: dict[str, float] = {}
    if adjust is not None and live:
        best_of = lambda idx: hits[max(idx, key=lambda i: norm[i])].chunk  # noqa: E731
        cands = [Candidate(p.key, tuple(best_of(idx) for idx in p.versions.values())) for p in live]
        delta = {k: a.delta for k, a in adjust(cands).items()}
    order = sorted(live, key=lambda p: -(p.score(w) + delta.get(p.key, 0.0)))
    out: list[int] = []
    for page in order:
        best_of = {d: max(norm[i] for i in idx) for d, idx in page.versions.items()}
        same = [d for d in page.versions if lang and page.langs[d] == lang]
        doc = max(same or list(page.versions), key=lambda d: best_of[d])
        out.extend(sorted(page.versions[doc], key=lambda i: -norm[i]))
    return out


class Retriever:
    """Answers ``retrieve(query)`` with ranked, de-duplicated chunks and an abstain decision.

    Args:
        embedder: Embeds the query (same model as the index).
        store: The vector store (``EdgeStore`` or ``QdrantServerStore``).
        config: Sizes, weights and the relevance threshold.
        lexicon: The ru→en lexicon learned from the KB's translated pages (``rag.lexicon``): a Russian
            question's BM25 query also looks for the English translations of its terms.
    """

    def __init__(
        self,
        embedder: Embedder,
        store: HybridStore,
        config: RetrieverConfig | None = None,
        *,
        lexicon: Lexicon | LexiconFiles | None = None,
        calibration: Calibration | CalibrationFile | None = None,
    ) -> None:
        self.embedder, self.store = embedder, store
        self.config = config or RetrieverConfig()
        self.lexicon = lexicon
        self.calibration = calibration or builtin(embedder.name)

    def current_calibration(self) -> Calibration:
        cal = self.calibration
        return cal.current() if isinstance(cal, CalibrationFile) else cal

    def sparse_query(self, text: str) -> SparseVector:
        """The BM25 query: the question's terms, plus their English translations at a lower weight."""
        w = self.config.weights.translated
        if self.lexicon is None or w <= 0:
            return query_vector(text)
        extra = dict.fromkeys(self.lexicon.translate(text), w)
        return query_vector(text, extra)

    async def retrieve(
        self,
        query: str,
        *,
        lang: str | None = None,
        limit: int | None = None,
        mode: Mode | None = None,
        access: AccessScope | None = None,
        boosters: Sequence[PageBooster] = (),
    ) -> RetrievalResult:
        """Retrieve chunks for ``query``.

        Args:
            query: The user's question (or the engine's rewritten one).
            lang: The question's language; detected when None. Ranks chunks in it slightly higher.
            limit: How many chunks to return (default ``top_k``).
            mode: ``final`` (the pipeline; default unless ``rerank`` is off, then ``rrf``), or
                ``rrf``/``dense``/``sparse`` for side-by-side benchmarks.
            access: Whose search it is: restricted passages only reach a scope allowed to read them
                (``rag.access``); ``None`` searches public passages only. Passed down to the store filter.
            boosters: Bounded page adjustments beyond the text (``rag.boosts``); final mode only.
        """
        cfg, w = self.config, self.config.weights
        mode = mode or ("final" if cfg.rerank else "rrf")
        limit = limit or cfg.top_k
        text = normalize_query(query)
        lang = lang or detect_lang(text)
        t0 = time.perf_counter()
        if mode == "sparse":  # BM25 alone needs no embedder (the degraded mode when it is down)
            dense, sparse = None, await asyncio.to_thread(self.sparse_query, text)
        else:
            dense, sparse = await asyncio.gather(
                self.embedder.embed_query(text), asyncio.to_thread(self.sparse_query, text)
            )
        t1 = time.perf_counter()
        if mode == "dense":
            hits = await self.store.dense_query(dense, limit=cfg.candidates, access=access)
        elif mode == "sparse":
            hits = await self.store.sparse_query(sparse, limit=cfg.candidates, access=access)
        else:
            hits = await self.store.hybrid_query(
                dense,
                sparse,
                limit=2 * cfg.candidates,
                candidates=cfg.candidates,
                weights=(w.dense, w.sparse),
                rrf_k=w.rrf_k,
                access=access,
            )
            if mode == "final":
                hits = await self._other_languages(dense, lang, hits, access)
        t2 = time.perf_counter()
        why: dict[str, tuple[str, ...]] = {}
        adjust: Adjust | None = None
        if boosters:

            def adjust(pages: list[Candidate]) -> dict[str, Adjustment]:
                found = combine(boosters, pages, dense)
                for page in pages:
                    if page.key in found and found[page.key].reasons:
                        why.update(dict.fromkeys(page.doc_ids, found[page.key].reasons))
                return found

        cal = self.current_calibration()
        ranked, best, evidence = self._rank(text, lang, hits, mode, cal, adjust)
        ranked = diversify(ranked, cfg.max_chunks_per_doc)[:limit]
        timings = {
            "embed": 1000 * (t1 - t0),
            "search": 1000 * (t2 - t1),
            "rank": 1000 * (time.perf_counter() - t2),
        }
        threshold = cal.threshold if cfg.min_score is None else cfg.min_score
        passed = bool(ranked) and best >= threshold
        log.debug(
            "retrieval.done", lang=lang, hits=len(ranked), best=round(best, 3), passed=passed, **timings
        )
        return RetrievalResult(ranked, passed, text, lang, best, timings, why, evidence)

    async def _other_languages(
        self, dense: np.ndarray, lang: str | None, hits: list[ScoredChunk], access: AccessScope | None
    ) -> list[ScoredChunk]:
        """Add the nearest passages in each other language to the candidates.

        The multilingual encoder ranks every passage in the question's language above an equally good one
        in another (``rerank.language_offsets``), so in a bilingual KB a page that exists only in English
        never reaches a Russian question's candidates. A dense query per other language (a filtered
        nearest-neighbour search, about a millisecond) brings its best passages in; ranking then compares
        them with the gap corrected.
        """
        n = self.config.cross_candidates
        if n <= 0 or lang not in LANGS:
            return hits
        seen = {h.chunk.chunk_id for h in hits}
        out = list(hits)
        for other in LANGS:
            if other == lang:
                continue
            for h in await self.store.dense_query(dense, limit=n, filters={"lang": other}, access=access):
                if h.chunk.chunk_id not in seen:
                    seen.add(h.chunk.chunk_id)
                    out.append(h)
        return out

    def _rank(
        self,
        text: str,
        lang: str | None,
        hits: list[ScoredChunk],
        mode: Mode,
        cal: Calibration,
        adjust: Adjust | None = None,
    ) -> tuple[list[ScoredChunk], float, list[tuple[float, float, float]]]:
        w = self.config.weights
        if mode != "final":
            hits = [h for h in hits if h.chunk.kind != "card"]
            w = replace(w, cross_lang=0.0)  # the side-by-side baselines stay plain
        if not hits:
            return [], 0.0, []
        alt = self.lexicon.translations(text) if self.lexicon is not None and w.translated > 0 else None
        q = ranking.Query.parse(text, lang, alt)
        feats = ranking.extract(q, hits, w)
        if mode == "final":
            best_cos = max(f.cosine for f in feats)
            best_rrf = max(f.rrf for f in feats)
            keys = [ranking.rank_score(f, best_cos, best_rrf, w) for f in feats]
            order = rank_pages(hits, keys, lang, w, adjust)
        else:
            keys = [f.rrf for f in feats] if mode == "rrf" else [-i for i in range(len(hits))]
            order = sorted(range(len(hits)), key=lambda i: -keys[i])
        rel = {i: cal.relevance(feats[i].raw_cosine, feats[i].coverage, feats[i].ident) for i in order}
        out = [
            ScoredChunk(hits[i].chunk, round(rel[i], 4), hits[i].dense_score, hits[i].sparse_score)
            for i in order
        ]
        evidence = [(feats[i].raw_cosine, feats[i].coverage, feats[i].ident) for i in order[:3]]
        return out, max((rel[i] for i in order[:3]), default=0.0), evidence
