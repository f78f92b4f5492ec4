"""Messenger faults through the Telegram adapter and its fake Bot API: nothing claimed is lost.

Each docstring is a row of the fault matrix (``python -m bench.faults``).
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.resilience.admission import Admission
from storage.models import Message
from tests.adapters import tg_updates as tg
from tests.adapters.test_telegram import ROLLBACK, answered, fake, hook  # noqa: F401  (fixtures)
from tests.adapters.tg_updates import until


def fast_retries(core) -> None:  # type: ignore[no-untyped-def]
    core.settings.resilience.post_attempts = 4
    core.settings.resilience.post_max_delay = 0.05


async def stored_answer(core) -> Message:  # type: ignore[no-untyped-def]
    async with core.db.read() as s:
        return (await s.execute(select(Message).where(Message.kind == "answer"))).scalar_one()


async def test_messenger_edits_failing_mid_stream(hook, fake, core):  # noqa: F811
    """Messenger API failing mid-stream (edits 500) → the answer is still generated and stored, its
    final edit retried until it lands; one message, no duplicate post."""
    fast_retries(core)
    # frames give up, the final edit retries on: fewer failures than post_attempts (4), however many of
    # them hit the stream's frames and however many the final edit (a fast answer has no frames at all)
    fake.fail("editMessageText", status=500, times=3)
    question = tg.message(ROLLBACK)
    await hook.deliver(tg.update(question))
    # the final edit (with the vote buttons) may still be retrying in the background when the update is done
    [msg] = await until(lambda: answered(fake, question["message_id"]), "the final edit with the buttons")
    stored = await stored_answer(core)
    assert "helm rollback" in msg.text.lower() and len(fake.sent()) == 1
    assert stored.platform_ref == f"42:{msg.message_id}" and "rollback" in stored.text.lower()


async def test_messenger_posts_failing_then_recovering(hook, fake, core):  # noqa: F811
    """Messenger API failing on posts (502, then 429) → retried with backoff (Retry-After honoured),
    the answer posted exactly once and linked to its stored row."""
    fast_retries(core)
    fake.fail("sendMessage", status=502, times=2)
    fake.fail("sendMessage", status=429, retry_after=1, times=1)
    question = tg.message(ROLLBACK)
    await hook.deliver(tg.update(question))
    [msg] = await until(lambda: answered(fake, question["message_id"]), "the answer with the buttons")
    assert len(fake.sent()) == 1 and fake.count("sendMessage") >= 4
    assert (await stored_answer(core)).platform_ref == f"42:{msg.message_id}"


async def test_messenger_down_for_good_keeps_the_answer(hook, fake, core):  # noqa: F811
    """Messenger API down for good (every post 500) → after the retries the answer is still stored
    in full (kept for history and the web chat), nothing posted twice."""
    fast_retries(core)
    fake.fail("sendMessage", status=500, times=100)
    await hook.deliver(tg.update(tg.message(ROLLBACK)))
    assert fake.sent() == [] and fake.count("sendMessage") >= 4
    stored = await stored_answer(core)
    assert "rollback" in stored.text.lower() and stored.platform_ref is None


async def test_busy_line_tells_the_place_and_refuses_past_it(hook, fake, core):  # noqa: F811
    """Overload (every answer slot busy) → a question waits in a bounded line and is told its place
    (ru/en), answered when a slot frees; past the line it is refused politely."""
    core.admission = Admission(limit=1, queue=1)
    release = asyncio.Event()
    entered = asyncio.Event()

    async def occupy() -> None:
        async with core.admission.slot():
            entered.set()
            await release.wait()

    holder = asyncio.create_task(occupy())
    await entered.wait()
    waiting = tg.message(ROLLBACK, chat_id=7, sender=tg.user(7))
    assert await hook.send(tg.update(waiting)) == 200
    await until(lambda: any("number 1 in line" in m.text for m in fake.sent(7)), "the in-line notice")
    refused = tg.message("How do I install helm?", chat_id=8, sender=tg.user(8))
    assert await hook.send(tg.update(refused)) == 200  # not deliver(): idle() would wait for the line
    await until(lambda: any("overloaded" in m.text for m in fake.sent(8)), "the refusal")
    release.set()
    await holder
    await hook.channel.idle()
    [msg] = answered(fake, waiting["message_id"])
    assert "helm rollback" in msg.text.lower() and "in line" in msg.history[0]  # the notice became it
    assert core.admission.status() == {"running": 0, "waiting": 0, "refused": 1}
