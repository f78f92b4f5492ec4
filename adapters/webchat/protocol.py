"""The WebSocket JSON protocol (documented in ``docs/api.md``): client messages in, server events out."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from bot.types import AnswerDelta, AnswerEnd, AnswerEvent, AnswerNotice, AnswerSources, AnswerStart
from rag.urls import http_url

RequestId = Annotated[str, Field(min_length=1, max_length=64)]
SOURCE_FIELDS = ("title", "url", "path", "section", "score", "doc_id")
THREAD_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class AskIn(BaseModel):
    type: Literal["ask"]
    request_id: RequestId
    text: str = Field(max_length=100_000)
    conversation_id: int | Annotated[str, Field(pattern=THREAD_PATTERN)] | None = None
    role: Literal["default", "frontend", "backend", "devops", "qa"] | None = None
    lang: Literal["ru", "en"] | None = None


class FeedbackIn(BaseModel):
    type: Literal["feedback"]
    request_id: RequestId | None = None
    message_id: int
    value: Literal[-1, 0, 1]
    comment: str | None = Field(default=None, max_length=2000)
    lang: Literal["ru", "en"] | None = None


class PingIn(BaseModel):
    type: Literal["ping"]
    ts: float | int | str | None = None


ClientMessage = Annotated[AskIn | FeedbackIn | PingIn, Field(discriminator="type")]
client_message: TypeAdapter[AskIn | FeedbackIn | PingIn] = TypeAdapter(ClientMessage)


def source_dicts(sources: list[Any]) -> list[dict[str, Any]]:
    """Sources numbered as the answer cites them ([1], [2], ...)."""
    out = []
    for n, src in enumerate(sources, start=1):
        data = asdict(src) if not isinstance(src, dict) else dict(src)
        data["url"] = http_url(data.get("url"))  # stored sources may predate the loader's check
        out.append(
            {
                "n": n,
                **{k: data.get(k) for k in ("title", "url", "path", "section", "score", "doc_id")},
                "sections": list(data.get("sections") or ([data["section"]] if data.get("section") else [])),
                "why": list(data.get("why") or []),
            }
        )
    return out


def encode(event: AnswerEvent, request_id: str) -> dict[str, Any]:
    """A core answer event as a server message."""
    if isinstance(event, AnswerStart):
        return {
            "type": "answer.start",
            "request_id": request_id,
            "conversation_id": event.session_id,
            "lang": event.lang,
        }
    if isinstance(event, AnswerDelta):
        return {"type": "answer.delta", "request_id": request_id, "text": event.text}
    if isinstance(event, AnswerNotice):
        return {"type": "answer.notice", "request_id": request_id, "text": event.text}
    if isinstance(event, AnswerSources):
        return {"type": "answer.sources", "request_id": request_id, "sources": source_dicts(event.sources)}
    if isinstance(event, AnswerEnd):
        a = event.answer
        return {
            "type": "answer.end",
            "request_id": request_id,
            "conversation_id": a.session_id,
            "message_id": a.message_id,
            "latency_ms": a.latency_ms,
            "abstained": a.abstained,
            "escalated": a.escalated,
        }
    raise TypeError(f"unknown answer event {event!r}")


def error(request_id: str | None, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "request_id": request_id, "code": code, "message": message, **extra}
