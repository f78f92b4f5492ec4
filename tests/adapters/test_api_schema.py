"""Property tests of the REST API against its own OpenAPI spec (schemathesis): no input makes it fail.

Opora's REST routes and error handlers over the sample core, served by uvicorn on 127.0.0.1 from a thread;
schemathesis generates requests from ``/openapi.json`` (valid and invalid ones) and checks that none gets a
5xx and that every 200 matches its documented schema.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from adapters.api import install_error_handlers, router
from adapters.edge import install_edge


def build_app(tmp: Path) -> FastAPI:
    from tests.webchat.sample import build_services, make_sample_kb

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(tmp / "data", make_sample_kb(tmp / "kb"))
        services.settings.api.rate_limit_per_minute = 0  # the fuzzer is one caller sending many requests
        app.state.services = services
        yield
        await services.db.close()

    app = FastAPI(title="Opora", lifespan=lifespan)
    install_error_handlers(app)
    install_edge(app, forwarded_allow_ips=["127.0.0.1"], max_body_bytes=256 * 1024)
    app.include_router(router)
    return app


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(build_app(tmp_path_factory.mktemp("schema")), port=port,
                                           log_level="warning", ws="websockets-sansio"))  # fmt: skip
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(30)


def test_the_api_never_fails_on_generated_input(base_url: str) -> None:
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(spec)
    checks = [not_a_server_error, response_schema_conformance]
    tried = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(base_url=base_url, checks=checks)

        fuzz()
        tried.append(operation.label)
    assert {"POST /api/v1/ask", "POST /api/v1/feedback", "GET /healthz"} <= set(tried)
