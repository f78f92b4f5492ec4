from __future__ import annotations

from bot.extractive import ExtractiveGenerator
from bot.generation import GenerationRequest
from bot.prompting import fence
from bot.sources import answer_passages, group_pages
from bot.types import Passage


def passage(doc: str, n: int, section: str | None = None, text: str = "", url: str | None = None) -> Passage:
    return Passage(
        f"{doc}-{n}",
        doc,
        text or f"text {doc} {n}",
        f"Title {doc}",
        section,
        url,
        f"{doc}.md",
        "en",
        0.9 - n / 100,
    )


def test_sources_are_distinct_pages_in_rank_order_with_their_sections() -> None:
    ranked = [
        passage("a", 1, "Install"),
        passage("a", 2, "Upgrade"),
        passage("b", 3, "Flags", url="javascript:alert(1)"),
        passage("a", 4, "Install"),
        passage("c", 5),
        passage("d", 6),
    ]
    pages = group_pages(ranked, top_k=3)
    sources = [p.source() for p in pages]
    assert [s.doc_id for s in sources] == ["a", "b", "c"]  # "d" is beyond top_k
    assert sources[0].sections == ("Install", "Upgrade") and sources[0].section == "Install"
    assert sources[1].url is None  # only http(s) reaches a client
    assert [p.page for p in pages[0].passages] == [1, 1, 1]
    assert [p.page for p in answer_passages(pages, 4)] == [1, 1, 1, 2]


def test_extractive_and_llm_cite_pages_not_passages() -> None:
    ranked = [
        passage("a", 1, "Install", text="Run helm install with --atomic to roll back on failure."),
        passage("a", 2, "Upgrade", text="helm upgrade --atomic rolls back a failed upgrade."),
        passage("b", 3, "Flags", text="The --atomic flag deletes the release on failure."),
    ]
    passages = answer_passages(group_pages(ranked, top_k=5), 10)
    text, cited = ExtractiveGenerator().compose(
        GenerationRequest(question="what does --atomic do", lang="en", role="default", passages=passages)
    )
    assert "[3]" not in text and "**[1] Title a › Upgrade**" in text and "**[2] Title b › Flags**" in text
    assert cited == (1, 2)
    assert fence(passages).count('n="1"') == 2 and 'n="2"' in fence(passages)
