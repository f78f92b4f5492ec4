"""What every fake server shares: an aiohttp app on 127.0.0.1, in the test's loop or its own thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class AiohttpFake:
    """Subclasses add routes in ``routes`` and may hook ``on_start`` / ``on_close``."""

    url: str = ""
    _runner: web.AppRunner | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    def routes(self, app: web.Application) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def on_start(self) -> None:
        """Runs before the server starts, in the loop that serves it."""

    async def on_close(self) -> None:
        """Runs before the server stops (close sockets, wake waiters)."""

    async def start(self) -> str:
        await self.on_start()
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        await self.on_close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> str:
        """Serve from a thread with its own loop (benchmarks: the fake must not share the bot's loop)."""
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self.start())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self.url

    def run(self, coro: Any) -> Any:
        """Run ``coro`` on the fake's own loop (from another thread) and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self.close(), self._loop).result(5)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
