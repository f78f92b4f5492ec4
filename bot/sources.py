"""The answer's sources are distinct pages: the ranked passages grouped by page, best page first.

The retriever returns passages in page order (``rag.retrieval.rank_pages``), a few per page. Users see
pages, not passages, so the answer lists up to ``top_k`` distinct pages, each with the sections it was given,
and cites them as [1]..[n]. The generator receives the passages of those pages, each tagged with its page's
number, so a citation always points at a listed page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bot.types import Passage, Source
from rag.urls import http_url


@dataclass(slots=True)
class Page:
    """One source: a page and the passages of it the answer was given, best first."""

    number: int
    passages: list[Passage] = field(default_factory=list)
    why: tuple[str, ...] = ()

    @property
    def first(self) -> Passage:
        return self.passages[0]

    def source(self) -> Source:
        p = self.first
        sections = tuple(dict.fromkeys(x.section for x in self.passages if x.section))
        return Source(
            title=p.title,
            url=http_url(p.url),
            path=p.path,
            score=max(x.score for x in self.passages),
            section=sections[0] if sections else None,
            doc_id=p.doc_id,
            sections=sections,
            why=self.why,
            version=p.version,
            access=p.access,
        )


def group_pages(
    passages: list[Passage], top_k: int, why: dict[str, tuple[str, ...]] | None = None
) -> list[Page]:
    """Up to ``top_k`` distinct pages in order of first appearance, each with its passages (numbered)."""
    pages: dict[str, Page] = {}
    for p in passages:
        page = pages.get(p.doc_id)
        if page is None:
            if len(pages) >= top_k:
                continue
            page = pages[p.doc_id] = Page(len(pages) + 1, why=(why or {}).get(p.doc_id, ()))
        page.passages.append(replace(p, page=page.number))
    return list(pages.values())


def answer_passages(pages: list[Page], limit: int) -> list[Passage]:
    """The passages the generator gets: page by page, at most ``limit`` in all.

    Page order is kept (the best page's further sections come before the next page), because the best
    page's key fact often sits in its second or third section.
    """
    out = [p for page in pages for p in page.passages]
    return out[:limit]
