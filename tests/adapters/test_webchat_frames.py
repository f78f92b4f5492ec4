"""Answer text is sent in few frames: consecutive deltas of one request are joined, nothing reordered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from adapters.webchat.ws import Connection, coalesce_deltas


def delta(rid: str, text: str) -> dict[str, Any]:
    return {"type": "answer.delta", "request_id": rid, "text": text}


def test_consecutive_deltas_of_one_request_are_joined() -> None:
    start = {"type": "answer.start", "request_id": "a"}
    end = {"type": "answer.end", "request_id": "a"}
    out = coalesce_deltas([start, delta("a", "Hel"), delta("a", "lo"), end, delta("a", "late")])
    assert out == [start, delta("a", "Hello"), end, delta("a", "late")]


def test_other_requests_interleaved_keep_each_requests_order() -> None:
    sources_b = {"type": "answer.sources", "request_id": "b", "sources": []}
    msgs = [delta("a", "1"), delta("b", "x"), delta("a", "2"), sources_b, delta("b", "y"), delta("a", "3")]
    out = coalesce_deltas(msgs)
    assert out == [delta("a", "123"), delta("b", "x"), sources_b, delta("b", "y")]
    for rid in ("a", "b"):  # per request: same text, same order of event types
        mine = [m for m in msgs if m["request_id"] == rid]
        got = [m for m in out if m["request_id"] == rid]
        assert "".join(m.get("text", "") for m in got) == "".join(m.get("text", "") for m in mine)


class Socket:
    """The two methods of a starlette ``WebSocket`` the connection uses; fails after ``fail_after``."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.fail_after = fail_after

    async def send_text(self, text: str) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise ConnectionResetError("peer gone")
        self.sent.append(json.loads(text))


async def test_a_streamed_answer_goes_out_in_few_frames_with_all_its_text() -> None:
    ws = Socket()
    conn = Connection(ws, stream_interval=0.05)  # type: ignore[arg-type]
    conn.send({"type": "answer.start", "request_id": "r"})
    pieces = [f"token{i} " for i in range(40)]
    for piece in pieces:  # an LLM streaming ~130 tokens a second
        conn.send(delta("r", piece))
        await asyncio.sleep(0.0075)
    conn.send({"type": "answer.end", "request_id": "r"})
    await conn.close()
    deltas = [m for m in ws.sent if m["type"] == "answer.delta"]
    assert "".join(m["text"] for m in deltas) == "".join(pieces)
    assert deltas[0]["text"] == pieces[0]  # the first piece is not held back
    assert 2 <= len(deltas) <= 12  # ~0.3 s of text at most every 50 ms, not 40 frames
    assert ws.sent[0]["type"] == "answer.start" and ws.sent[-1]["type"] == "answer.end"


async def test_without_an_interval_every_delta_is_its_own_frame_when_the_writer_keeps_up() -> None:
    ws = Socket()
    conn = Connection(ws, stream_interval=0.0)  # type: ignore[arg-type]
    for i in range(5):
        conn.send(delta("r", str(i)))
        await asyncio.sleep(0.005)
    await conn.close()
    assert [m["text"] for m in ws.sent] == ["0", "1", "2", "3", "4"]


async def test_a_gone_peer_stops_the_writer_and_later_sends_are_dropped() -> None:
    ws = Socket(fail_after=1)
    conn = Connection(ws, stream_interval=0.0)  # type: ignore[arg-type]
    conn.send({"type": "pong", "ts": 1})
    conn.send({"type": "pong", "ts": 2})
    await asyncio.sleep(0.01)
    assert conn.closed
    conn.send({"type": "pong", "ts": 3})
    await conn.close()
    assert ws.sent == [{"type": "pong", "ts": 1}]
