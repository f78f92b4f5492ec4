"""The HTTP API answering through an LLM provider (a fake OpenAI-compatible server on 127.0.0.1)."""

from __future__ import annotations

import shutil

import httpx
import pytest

from bot.app import close_services, create_app
from bot.escalation.judge import IncidentJudge
from tests.conftest import build_core
from tests.fakes.openai_server import FakeOpenAIServer, Reply


@pytest.fixture
async def llm_fake():
    fake = FakeOpenAIServer(api_key="sk-test-key")
    # the incident judge asks the same provider beside each answer: its requests get their own replies
    verdict = '{"incident": false, "severity": "normal", "reasons": ["a how-to question"]}'
    fake.lane(IncidentJudge.PROMPT[:40], default=Reply(tokens=[verdict]))
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def llm_client(golden_core_dir, tmp_path, llm_fake):
    data_src, kb = golden_core_dir
    shutil.copytree(data_src, tmp_path / "data")
    providers = {
        "chain": ["openai"],
        "providers": {
            "openai": {
                "kind": "openai",
                "base_url": llm_fake.base_url,
                "api_key": "sk-test-key",
                "model": "gpt-test",
                "first_token_timeout": 1.0,
                "total_timeout": 5.0,
            }
        },
    }
    services = await build_core(tmp_path / "data", kb, ingest=False, providers=providers)
    services.index.finish()
    app = create_app(services.settings, channels=())
    app.state.services = services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://opora") as client:
        yield client
    await close_services(services)


async def test_llm_answer_is_grounded_in_fenced_passages_and_cites_sources(llm_client, llm_fake):
    llm_fake.script(Reply(tokens=["Set ", "`WERF_PRINT_STACK_TRACES=1` ", "and a period [1]."]))
    r = await llm_client.post(
        "/api/v1/ask",
        json={"text": "How can werf print goroutine stack traces periodically?", "user_id": "u"},
    )
    body = r.json()
    assert r.status_code == 200 and not body["abstained"]
    assert body["answer"] == "Set `WERF_PRINT_STACK_TRACES=1` and a period [1]."
    assert body["sources"][0]["path"] == "werf/en/reference/debug_env_vars.md"
    prompt = "\n".join(m["content"] for m in llm_fake.requests[-1]["messages"])
    assert "WERF_PRINT_STACK_TRACES" in prompt  # the retrieved passage reached the model
    assert llm_fake.requests[-1]["model"] == "gpt-test"


async def test_provider_outage_falls_back_to_the_extractive_answer_with_a_notice(llm_client, llm_fake):
    llm_fake.default = Reply(status=503)
    r = await llm_client.post("/api/v1/ask", json={"text": "как откатить релиз helm?", "user_id": "u"})
    body = r.json()
    assert r.status_code == 200 and not body["abstained"]
    assert body["notice"] and "модель" in body["notice"].lower()
    assert "Вот что сказано в документации" in body["answer"]
    assert body["sources"]
