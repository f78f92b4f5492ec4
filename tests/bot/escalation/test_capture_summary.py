"""Knowledge capture with a provider configured: the draft is the LLM's summary, or verbatim when it fails.

The draft is stored verbatim when the thread is resolved; the summary replaces it in the background.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from typing import Any

import pytest

from bot.app import close_services
from bot.escalation.judge import IncidentJudge
from bot.escalation.summary import LLMSummariser
from bot.types import Incoming, SessionKey, UserRef
from storage.repositories import escalations
from tests.bot.escalation.conftest import provider_settings
from tests.conftest import build_core
from tests.fakes.openai_server import FakeOpenAIServer, Reply

HUMAN_ANSWER = "Contractors get a VPN profile from #it-helpdesk: open a ticket with the contract number."
NO_INCIDENT = json.dumps({"incident": False, "severity": "normal", "reasons": ["access question"]})
KEY = SessionKey("slack", "C7", "200.1")


@pytest.fixture
async def llm():
    fake = FakeOpenAIServer(api_key="sk-test-key")
    fake.lane(IncidentJudge.PROMPT[:40], default=Reply(tokens=[NO_INCIDENT]))
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def services(golden_core_dir, tmp_path, llm, paging):
    data_src, kb = golden_core_dir
    shutil.copytree(data_src, tmp_path / "data")
    escalation = {
        "targets": [{"kind": "webhook", "url": f"{paging.url}/hook"}],
        "rotations": [{"people": ["Anna"], "start": "2026-01-05"}],
        "capture_summary_timeout": 2.0,  # a fake answers at once, or never
    }
    core = await build_core(
        tmp_path / "data", kb, ingest=False, providers=provider_settings(llm), escalation=escalation
    )
    core.index.finish()
    yield core
    await close_services(core)


async def draft(services: Any) -> Any:
    async with services.db.session() as s:
        [entry] = await escalations.list_captured(s)
    return entry


async def resolved_thread(services: Any, question: str) -> Any:
    """Ask, call a human, the human answers in the thread, resolve: the draft as stored at once."""
    asker = UserRef("slack", "UASK", display_name="asker")
    await services.engine.ask(Incoming(text=question, user=asker, session=KEY))
    assert "I paged Anna" in await services.commands.handle(Incoming(text="human", user=asker, session=KEY))
    anna = UserRef("slack", "UANNA", display_name="Anna")
    reply = Incoming(text=HUMAN_ANSWER, user=anna, session=KEY)
    assert not await services.escalation.should_answer(reply, mentioned=False)  # the human took over
    async with services.db.session() as s:
        [row] = await escalations.list_escalations(s)
    assert await services.escalation.resolve(row.id, by="Anna")
    return await draft(services)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("how do I get access to the VPN for contractors?", "English"),
        ("как подрядчику получить доступ к VPN?", "Russian"),
    ],
)
async def test_the_draft_is_the_llm_summary_in_the_question_language(services, llm, question, language):
    summary = "Open an #it-helpdesk ticket with the contract number; they issue a VPN profile."
    written = asyncio.Event()
    lane = llm.lane(LLMSummariser.PROMPT[:40], Reply(tokens=[summary[:30], summary[30:]], release=written))
    first = await resolved_thread(services, question)
    assert first.answer == HUMAN_ANSWER and not first.summarised  # resolving did not wait for the model
    written.set()
    await services.engine.captured.drain()
    entry = await draft(services)
    assert entry.answer == summary and entry.summarised and entry.answered_by == "Anna"
    assert entry.question == question and entry.status == "draft"
    [request] = lane.requests
    system, user = (m["content"] for m in request["messages"])
    assert f"in {language}." in system and "not instructions" in system
    opening, closing = user.splitlines()[0], user.splitlines()[-1]
    assert opening.startswith("<<<THREAD ") and opening in system and closing in system
    assert question in user and HUMAN_ANSWER in user


@pytest.mark.parametrize(
    "failure",
    [Reply(status=500), Reply(release=asyncio.Event()), Reply(tokens=["  "])],
    ids=["provider error", "too slow", "empty"],
)
async def test_a_failing_llm_leaves_the_human_answer_verbatim(services, llm, failure):
    llm.lane(LLMSummariser.PROMPT[:40], default=failure)
    await resolved_thread(services, "how do I get access to the VPN for contractors?")
    await services.engine.captured.drain()
    entry = await draft(services)
    assert entry.answer == HUMAN_ANSWER and not entry.summarised


async def test_a_summary_never_overwrites_a_reviewers_edit(services, llm):
    written = asyncio.Event()
    llm.lane(LLMSummariser.PROMPT[:40], Reply(tokens=["A summary."], release=written))
    first = await resolved_thread(services, "how do I get access to the VPN for contractors?")
    edited = "Ask #it-helpdesk (contract number needed)."
    await services.engine.captured.review(first.id, approve=True, reviewer="lead", answer=edited)
    written.set()
    await services.engine.captured.drain()
    entry = await draft(services)
    assert entry.answer == edited and entry.status == "approved" and not entry.summarised
