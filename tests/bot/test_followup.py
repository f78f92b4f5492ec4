"""Follow-ups: fused page rankings offline, an LLM rewrite (fake OpenAI server) with a timeout fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bot.followup import FollowUpSearch, LLMCondenser, fuse_pages
from bot.generation import Turn
from providers.openai_compat import OpenAICompatProvider
from providers.settings import ProviderSettings
from rag.types import Chunk, ScoredChunk
from tests.fakes.llm_server import Reply
from tests.fakes.openai_server import FakeOpenAIServer


def hit(doc: str, n: int = 0) -> ScoredChunk:
    chunk = Chunk(f"{doc}-{n}", doc, n, f"text {doc}", doc, [], "en", None, f"{doc}.md", "kb")
    return ScoredChunk(chunk, 0.9)


@dataclass
class Result:
    chunks: list[ScoredChunk]
    passed: bool = True
    best: float = 0.9
    why: dict = field(default_factory=dict)


def ranking(*docs: str) -> Result:
    return Result([hit(d, i) for i, d in enumerate(docs)])


def test_fusion_keeps_a_standalone_topic_and_rescues_a_pronoun() -> None:
    # a new topic: the bare query's best page stays first even though the thread query prefers another
    fused = fuse_pages(ranking("new", "x", "y"), ranking("old", "new", "z"), thread_weight=0.5)
    assert fused.chunks[0].chunk.doc_id == "new"
    # a pronoun: the bare query is lost, both agree on nothing but the thread finds the page
    fused = fuse_pages(ranking("noise", "page", "n2"), ranking("page", "other"), thread_weight=1.0)
    assert fused.chunks[0].chunk.doc_id == "page"
    assert len({h.chunk.chunk_id for h in fused.chunks}) == len(fused.chunks)


def test_fusion_passes_when_either_query_clears_the_bar() -> None:
    bare, thread = ranking("a"), ranking("b")
    bare.passed = False
    assert fuse_pages(bare, thread, 1.0).passed


class Recorder:
    def __init__(self) -> None:
        self.queries: list[str] = []

    async def __call__(self, query: str) -> Result:
        self.queries.append(query)
        return ranking("thread" if "\n" in query else "bare")


HISTORY = [Turn("user", "werf: how do I delete a Job once it succeeds?"), Turn("assistant", "Use ...")]


async def test_first_question_is_searched_as_it_is() -> None:
    run = Recorder()
    query, _ = await FollowUpSearch().search("how to roll back?", [], run)
    assert query == "how to roll back?" and run.queries == ["how to roll back?"]


async def test_offline_follow_up_searches_both_and_fuses() -> None:
    run = Recorder()
    query, outcome = await FollowUpSearch(thread_weight=1.0).search("can it be recreated?", HISTORY, run)
    assert run.queries == ["can it be recreated?", f"{HISTORY[0].text}\ncan it be recreated?"]
    assert {h.chunk.doc_id for h in outcome.chunks} == {"bare", "thread"}
    run = Recorder()
    query, _ = await FollowUpSearch(thread_weight=0.0).search("can it be recreated?", HISTORY, run)
    assert query == "can it be recreated?" and len(run.queries) == 1


@pytest.fixture
async def llm() -> AsyncIterator[tuple[FakeOpenAIServer, OpenAICompatProvider]]:
    fake = FakeOpenAIServer(api_key="sk-test")
    await fake.start()
    settings = ProviderSettings(kind="openai", base_url=fake.base_url, model="m", total_timeout=5.0)
    provider = OpenAICompatProvider("fake", settings, api_key="sk-test")
    yield fake, provider
    await provider.aclose()
    await fake.close()


async def test_llm_condenser_rewrites_the_follow_up(llm) -> None:
    fake, provider = llm
    fake.script(Reply(tokens=["How to recreate ", "a werf Job on every deploy?"]))
    run = Recorder()
    search = FollowUpSearch(condenser=LLMCondenser(provider, timeout=5.0))
    query, _ = await search.search("can it be recreated?", HISTORY, run)
    assert query == "How to recreate a werf Job on every deploy?" and run.queries == [query]
    sent = fake.requests[-1]["messages"]
    assert "can it be recreated?" in sent[-1]["content"] and HISTORY[0].text in sent[-1]["content"]


async def test_llm_condenser_timeout_falls_back_to_fusion(llm) -> None:
    fake, provider = llm
    fake.script(Reply(latency=3.0))
    run = Recorder()
    search = FollowUpSearch(condenser=LLMCondenser(provider, timeout=0.3))
    _, outcome = await search.search("can it be recreated?", HISTORY, run)
    assert len(run.queries) == 2 and {h.chunk.doc_id for h in outcome.chunks} == {"bare", "thread"}


async def test_evidence_choice_keeps_a_clearly_better_bare_search() -> None:
    class Scored(Recorder):
        def __init__(self, bare: float, thread: float) -> None:
            super().__init__()
            self.scores = (bare, thread)

        async def __call__(self, query: str) -> Result:
            result = await super().__call__(query)
            result.best = self.scores[1] if "\n" in query else self.scores[0]
            return result

    search = FollowUpSearch(margin=-0.1)
    query, outcome = await search.search("unrelated: how do I sign a chart?", HISTORY, Scored(0.95, 0.8))
    assert query == "unrelated: how do I sign a chart?" and outcome.chunks[0].chunk.doc_id == "bare"
    query, outcome = await search.search("can it be recreated?", HISTORY, Scored(0.7, 0.65))
    assert "\n" in query and outcome.chunks[0].chunk.doc_id == "thread"
