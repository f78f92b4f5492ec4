"""One cap on the messenger answers generated at once, with a bounded line behind it.

Slack, Telegram and Mattermost share one ``Admission``: at most ``limit`` answers run; up to ``queue`` more
wait in line in arrival order, each told their place; beyond that a question is refused with a
polite "busy, ask again" (``Busy``), so a burst never turns into an unbounded pile of answer tasks.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog

from bot.errors import OporaError
from bot.texts import t

log = structlog.get_logger(__name__)


class Busy(OporaError):
    code = "busy"
    status = 503

    def __init__(self) -> None:
        super().__init__(t("busy_refused", "en"), t("busy_refused", "ru"))


class Admission:
    def __init__(self, limit: int = 8, queue: int = 100) -> None:
        self.limit = limit
        self.queue = queue
        self.running = 0
        self._line: deque[asyncio.Future[None]] = deque()
        self.refused = 0

    @property
    def waiting(self) -> int:
        return len(self._line)

    @property
    def capacity(self) -> int:
        """Answers that may be running or waiting at once."""
        return self.limit + self.queue

    @asynccontextmanager
    async def slot(self, on_queued: Callable[[int], Awaitable[None]] | None = None) -> AsyncIterator[None]:
        """Hold one answer slot; ``on_queued(position)`` tells the user when they have to wait.

        Raises ``Busy`` when the line is full.
        """
        if self.running < self.limit and not self._line:
            self.running += 1
        else:
            await self._wait(on_queued)
        try:
            yield
        finally:
            self._release()

    async def _wait(self, on_queued: Callable[[int], Awaitable[None]] | None) -> None:
        if len(self._line) >= self.queue:
            self.refused += 1
            log.warning("admission.refused", running=self.running, waiting=len(self._line))
            raise Busy()
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._line.append(turn)
        position = len(self._line)
        log.info("admission.queued", position=position, running=self.running)
        try:
            if on_queued is not None:
                try:
                    await on_queued(position)
                except Exception:  # not being told costs the user nothing: the place in line is kept
                    log.warning("admission.notice_failed", exc_info=True)
            await turn  # ``_release`` hands a running slot over by resolving it
        except BaseException:
            if turn.done() and not turn.cancelled():
                self._release()  # the slot was handed over just as we gave up: pass it on
            else:
                turn.cancel()
                if turn in self._line:
                    self._line.remove(turn)
            raise

    def _release(self) -> None:
        while self._line:
            turn = self._line.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes on; ``running`` stays the same
                return
        self.running -= 1

    def status(self) -> dict[str, int]:
        return {"running": self.running, "waiting": len(self._line), "refused": self.refused}
