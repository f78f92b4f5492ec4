"""Admission (one cap, a bounded line) and the outbox (writes kept while the database is down)."""

from __future__ import annotations

import asyncio

import pytest

from bot.resilience.admission import Admission, Busy
from bot.resilience.outbox import Outbox
from storage.db import Database, DatabaseUnavailable


async def until(predicate, within: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_admission_caps_running_answers_queues_in_order_and_refuses_past_the_line():
    gate = Admission(limit=2, queue=2)
    order: list[str] = []
    told: dict[str, int] = {}
    release = asyncio.Event()

    async def answer(name: str) -> None:
        async def queued(position: int) -> None:
            told[name] = position

        async with gate.slot(on_queued=queued):
            order.append(name)
            await release.wait()

    tasks = [asyncio.create_task(answer(n)) for n in ("a", "b", "c", "d")]
    await until(lambda: gate.waiting == 2)
    assert gate.running == 2 and order == ["a", "b"] and told == {"c": 1, "d": 2}
    with pytest.raises(Busy) as refused:  # the line is full: refused politely, in both languages
        async with gate.slot():
            pass
    assert "overloaded" in refused.value.message("en") and "перегружен" in refused.value.message("ru")
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c", "d"] and gate.running == 0 and gate.waiting == 0
    assert gate.status() == {"running": 0, "waiting": 0, "refused": 1}


async def test_admission_a_cancelled_waiter_leaves_the_line_and_the_slot_passes_on():
    gate = Admission(limit=1, queue=5)
    hold = asyncio.Event()

    async def holder() -> None:
        async with gate.slot():
            await hold.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(holder())
    third = asyncio.create_task(holder())
    await until(lambda: gate.waiting == 2)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert gate.waiting == 1
    hold.set()
    await asyncio.gather(first, third)
    assert gate.running == 0 and gate.waiting == 0


async def test_outbox_keeps_writes_while_the_database_is_down_and_replays_them_in_order(sqlite_db: Database):
    box = Outbox(sqlite_db, size=3, interval=0.05)
    done: list[int] = []
    down = True

    def write(n: int):  # type: ignore[no-untyped-def]
        async def run(db: Database) -> None:
            if down:
                raise DatabaseUnavailable("down")
            done.append(n)

        return run

    assert box.reserve()
    assert box.put("exchange", write(1), reserved=True)
    assert box.put("answer", write(2))
    assert box.put("answer", write(3))
    assert box.full and not box.put("answer", write(4)) and not box.reserve()
    await asyncio.sleep(0.2)  # the replayer tries and keeps everything
    assert done == [] and len(box) == 3
    down = False
    await until(lambda: not len(box))
    assert done == [1, 2, 3] and box.status() == {"pending": 0, "replayed": 3, "dropped": 1}
    await box.close()
