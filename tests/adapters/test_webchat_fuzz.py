"""Hypothesis fuzzing of the web chat's WebSocket protocol: no frame breaks the socket or the server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.adapters.test_webchat import WEB, make_app

KEYS = ["request_id", "text", "conversation_id", "message_id", "value", "ts", "lang", "role", "comment"]
EVENTS = {"error", "answer.start", "answer.delta", "answer.sources", "answer.notice", "answer.end", "pong"}
ERRORS = {"bad_request", "too_large", "invalid_input", "not_found", "rate_limited", "not_ready"}
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False),
    st.text(max_size=40), st.sampled_from(["ask", "feedback", "ping", "human", "ru", "en", "qa", ""]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["ask", "feedback", "ping", "nope"])},
    optional={k: values for k in KEYS},
)
frames = st.one_of(
    messages.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
    values.map(lambda v: json.dumps(v)),
)


@pytest.fixture(scope="module")
def socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with TestClient(make_app(tmp_path_factory.mktemp("fuzz")), client=("127.0.0.1", 5000)) as client:
        client.post(f"{WEB}/session", json={"name": "Fuzzer"})
        with client.websocket_connect(f"{WEB}/ws") as ws:
            yield ws


def test_any_frame_leaves_the_socket_working(socket: Any) -> None:
    counter = iter(range(10**9))

    @given(frame=frames)
    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            socket.send_bytes(frame)
        else:
            socket.send_text(frame)
        n = next(counter)
        socket.send_json({"type": "ping", "ts": n})
        while (event := socket.receive_json())["type"] != "pong" or event.get("ts") != n:
            assert event["type"] in EVENTS or event["type"].startswith("feedback"), event
            if event["type"] == "error":
                assert event["code"] in ERRORS, event

    fuzz()
