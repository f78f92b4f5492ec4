"""Follow-ups: fused page rankings offline, an LLM rewrite (fake OpenAI server) with a timeout fallback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bot.followup import FollowUpSearch, LLMCondenser, confidence, fuse_pages
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


async def test_gate_decides_on_the_bare_search_alone() -> None:
    run = Recorder()  # every search: best 0.9, one page (margin 0.9)
    _, outcome = await FollowUpSearch(gate_best=0.85).search("can it be recreated?", HISTORY, run)
    assert run.queries == ["can it be recreated?"] and outcome.chunks[0].chunk.doc_id == "bare"
    run = Recorder()
    await FollowUpSearch(gate_best=0.95).search("can it be recreated?", HISTORY, run)
    assert len(run.queries) == 2
    run = Recorder()  # confident, but its first page does not lead by the margin asked
    await FollowUpSearch(gate_best=0.85, gate_margin=0.95).search("can it be recreated?", HISTORY, run)
    assert len(run.queries) == 2


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


# --- the gate over the real core (sample KB): searches counted at the engine's retriever ------------------


class CountingRetriever:
    """The engine's real retriever, with the queries it was asked recorded."""

    def __init__(self, inner) -> None:
        self.inner, self.queries = inner, []

    async def retrieve(self, query: str, **kwargs):
        self.queries.append(query)
        return await self.inner.retrieve(query, **kwargs)


ROLLBACK = [Turn("user", "How do I roll back a helm release?"), Turn("assistant", "Use helm rollback ...")]
STANDALONE = "werf converge hangs: how do I make werf print goroutine stack traces every few seconds?"


async def ask(core, text: str, history: list[Turn]) -> tuple[list[str], str]:
    """(queries the retriever was asked, top page) for ``text`` after ``history`` through the engine."""
    counting = CountingRetriever(core.engine.retriever)
    core.engine.retriever = counting
    try:
        _, outcome = await core.engine.search(text, history, "en")
    finally:
        core.engine.retriever = counting.inner
    return counting.queries, outcome.chunks[0].chunk.path


async def test_gate_skips_the_thread_search_when_the_bare_search_is_confident(core_factory) -> None:
    gated = await core_factory(ranking={"followup": {"gate_best": 0.85, "gate_margin": 0.005}})
    queries, top = await ask(gated, STANDALONE, ROLLBACK)
    assert queries == [STANDALONE] and top == "werf/en/reference/debug_env_vars.md"
    # the same message with the gate off: both searches, as before
    queries, top = await ask(
        await core_factory(ranking={"followup": {"gate_best": None}}), STANDALONE, ROLLBACK
    )
    assert len(queries) == 2 and top == "werf/en/reference/debug_env_vars.md"


async def test_gate_searches_the_thread_when_the_bare_search_is_unsure(core_factory) -> None:
    gated = await core_factory(ranking={"followup": {"gate_best": 0.85, "gate_margin": 0.005}})
    follow = "can it go back two versions instead of one?"
    queries, top = await ask(gated, follow, ROLLBACK)
    # alone it finds nothing relevant (a werf page); with the thread's question, helm rollback
    assert queries == [follow, f"{ROLLBACK[0].text}\n{follow}"] and top == "helm/en/helm/helm_rollback.md"


def test_confidence_counts_a_page_and_its_translation_once() -> None:
    def scored(path: str, score: float) -> ScoredChunk:
        return ScoredChunk(Chunk(path, path, 0, "t", path, [], "en", None, path, "kb"), score)

    lead = Result([scored("w/en/a.md", 0.9), scored("w/ru/a.md", 0.95), scored("w/en/b.md", 0.7)], best=0.95)
    best, margin = confidence(lead)
    assert best == 0.95 and margin == pytest.approx(0.25)
    assert confidence(Result([scored("w/en/a.md", 0.6)], best=0.6)) == (0.6, 0.6)
