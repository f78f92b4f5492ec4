"""The durable paging outbox: a send is a row first, then delivered by whichever replica claims it.

A target that is down is retried with backoff (429 included: PagerDuty sends no Retry-After); a row is
only marked ``sent`` by the worker that claimed it, and claims are exclusive across replicas
(``storage.repositories.escalations.claim_due``), so a page is never lost and never sent twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from bot.escalation.targets import SendResult, Target
from storage.db import Database
from storage.escalation_models import OutboxItem
from storage.repositories import escalations

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
Delivered = Callable[[OutboxItem, SendResult], Awaitable[None]]


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 5 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 300))


class Outbox:
    def __init__(
        self,
        db: Database,
        targets: dict[str, Target],
        *,
        clock: Clock,
        max_attempts: int = 20,
        lease: timedelta = timedelta(seconds=60),
        worker: str | None = None,
        on_delivered: Delivered | None = None,
    ) -> None:
        self.db = db
        self.targets = targets
        self.clock = clock
        self.max_attempts = max_attempts
        self.lease = lease
        self.worker = worker or f"opora-{uuid.uuid4().hex[:12]}"
        self.on_delivered = on_delivered

    async def deliver(self, ids: list[int] | None = None) -> list[tuple[OutboxItem, SendResult]]:
        """Claim due sends (only ``ids`` when given), send each once, record the outcome."""
        now = self.clock()
        async with self.db.session() as s:
            items = await escalations.claim_due(s, worker=self.worker, lease=self.lease, now=now, ids=ids)
        done: list[tuple[OutboxItem, SendResult]] = []
        for item in items:
            result = await self._send(item)
            done.append((item, result))
        return done

    async def _send(self, item: OutboxItem) -> SendResult:
        target = self.targets.get(item.target)
        if target is None:
            result = SendResult(False, retry=False, detail=f"target {item.target} is no longer configured")
        else:
            try:
                result = await target.send(item.action, item.payload)
            except Exception as exc:  # a sender bug must not stop the other sends
                log.exception("escalation.send_crashed", target=item.target)
                result = SendResult(False, retry=True, detail=type(exc).__name__)
        now = self.clock()
        async with self.db.session() as s:
            if result.ok:
                await escalations.mark_sent(
                    s, item_id=item.id, worker=self.worker, result=result.result, now=now
                )
            else:
                attempts = item.attempts + 1
                give_up = not result.retry or attempts >= self.max_attempts
                await escalations.mark_failed(
                    s,
                    item_id=item.id,
                    worker=self.worker,
                    error=result.detail,
                    retry_at=None if give_up else now + backoff(attempts),
                )
                await escalations.add_event(
                    s,
                    escalation_id=item.escalation_id,
                    kind="page_failed",
                    actor=item.target,
                    detail={"action": item.action, "error": result.detail, "final": give_up},
                    now=now,
                )
        log.info(
            "escalation.sent" if result.ok else "escalation.send_failed",
            target=item.target,
            kind=item.kind,
            action=item.action,
            escalation_id=item.escalation_id,
            detail=result.detail,
        )
        if result.ok and self.on_delivered is not None:
            await self.on_delivered(item, result)
        return result
