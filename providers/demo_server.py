"""A keyless OpenAI-compatible chat server for demos (``opora demo-llm``, the compose ``demo`` profile).

It is not a language model: it answers by quoting the first sentences of the passages Opora put in the
prompt (``<passage n="…">`` blocks, see ``bot/prompting.py``), citing them as ``[n]``, and streams the
answer word by word the way an OpenAI-compatible server does (``data: {chat.completion.chunk}`` lines and
``data: [DONE]``). So a demo without LLM keys still walks the whole LLM path: the provider router, streaming,
citations and sources. Point a provider at it with ``kind: openai``, ``base_url: http://<host>:8081/v1``,
``no_auth: true``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

_PASSAGE = re.compile(r'<passage n="(\d+)"[^>]*>\n?(.*?)\n?</passage>', re.DOTALL)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
ABSTAIN = {
    "en": "I could not find the answer to this in the documentation.",
    "ru": "В документации нет ответа на этот вопрос.",
}
INTRO = {
    "en": "Demo model (no LLM configured). From the documentation:",
    "ru": "Демо-модель (LLM не подключена). Из документации:",
}


def compose_answer(messages: list[dict[str, Any]], *, max_passages: int = 2, max_chars: int = 400) -> str:
    """The demo answer for a chat: the opening sentences of the first passages, each cited."""
    prompt = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")
    question = prompt.rsplit("Question:", 1)[-1] if "Question:" in prompt else prompt.rsplit("Вопрос:", 1)[-1]
    lang = "ru" if _CYRILLIC.search(question) else "en"
    parts: list[str] = []
    for number, text in _PASSAGE.findall(prompt)[:max_passages]:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        quote = ""
        for sentence in _SENTENCE.split(" ".join(lines)):
            if quote and len(quote) + len(sentence) > max_chars:
                break
            quote = f"{quote} {sentence}".strip()
        if quote:
            parts.append(f"{quote[:max_chars]} [{number}]")
    if not parts:
        return ABSTAIN[lang]
    return "\n\n".join([INTRO[lang], *parts])


def _chunk(completion_id: str, model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def create_app(*, word_delay: float = 0.02) -> FastAPI:
    """The demo server; ``word_delay`` seconds between streamed words (0 for tests)."""
    app = FastAPI(title="Opora demo LLM", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "opora-demo", "object": "model", "owned_by": "opora"}]}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(request: Request) -> JSONResponse | StreamingResponse:
        body = await request.json()
        model = str(body.get("model") or "opora-demo")
        answer = compose_answer(list(body.get("messages") or []))
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        words = len(answer.split())
        usage = {"prompt_tokens": 0, "completion_tokens": words, "total_tokens": words}
        if not body.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": answer},
                "finish_reason": "stop",
            }
            return JSONResponse(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                }
            )

        async def stream() -> AsyncIterator[str]:
            yield _chunk(completion_id, model, {"role": "assistant", "content": ""})
            for word in re.findall(r"\S+\s*", answer):
                yield _chunk(completion_id, model, {"content": word})
                if word_delay:
                    await asyncio.sleep(word_delay)  # paces the stream like a model; not a wait for state
            yield _chunk(completion_id, model, {}, "stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                tail = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time())}
                yield f"data: {json.dumps({**tail, 'model': model, 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app
