"""Run Opora's web chat on 127.0.0.1 for browser tests and the bench.

``python -m tests.webchat.server --port 8765 --data /tmp/x``; callers poll ``/api/v1/web/config``.
``OPORA_WEBCHAT_TEST_CORE``: ``own`` (the sample core of ``tests/webchat/sample.py``), ``app`` (``bot.app``,
the production wiring), ``auto`` (default: ``bot.app`` when it exists, else ``own``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog
import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from adapters.webchat import create
from tests.webchat.sample import build_services, make_sample_kb

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "webchat" / "dist"
log = structlog.get_logger(__name__)


async def own_app(data: Path, **webchat: Any) -> FastAPI:
    """The sample core with the web chat channel mounted and the front end build served under ``/``."""
    services = await build_services(data, make_sample_kb(data / "kb"), **webchat)
    channel = create(services)
    assert channel is not None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await channel.start()
        yield
        await channel.stop()
        await services.db.close()

    app = FastAPI(lifespan=lifespan)
    app.include_router(channel.router)
    if DIST.is_dir():
        app.mount("/", StaticFiles(directory=DIST, html=True), name="webchat")
    return app


def production_app(data: Path, **webchat: Any) -> FastAPI | None:
    """``bot.app``'s app over the sample KB, when the lead's wiring exists and imports."""
    if importlib.util.find_spec("bot.app") is None:
        return None
    try:
        bot_app = importlib.import_module("bot.app")
    except ImportError as exc:  # the wiring is there but what it needs is not yet
        log.warning("webchat_test_server.app_unavailable", error=str(exc))
        return None
    from bot.config import Settings

    factory = getattr(bot_app, "create_app", None)
    if factory is None:
        return None
    kb = make_sample_kb(data / "kb")
    return factory(Settings(data_dir=data, kb={"paths": [kb]}, webchat=webchat))  # type: ignore[no-any-return]


async def build(data: Path, core: str) -> FastAPI:
    webchat = {"questions_per_minute": int(os.environ.get("OPORA_TEST_QPM", "60"))}
    if core in ("app", "auto"):
        app = production_app(data, **webchat)
        if app is not None:
            log.info("webchat_test_server.core", core="bot.app")
            return app
        if core == "app":
            raise SystemExit("bot.app.create_app is not there yet")
    log.info("webchat_test_server.core", core="sample")
    return await own_app(data, **webchat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--core", default=os.environ.get("OPORA_WEBCHAT_TEST_CORE", "auto"))
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)

    async def serve() -> None:  # one event loop for the database and the server
        app = await build(args.data, args.core)
        config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning")
        await uvicorn.Server(config).serve()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
