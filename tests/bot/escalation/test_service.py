"""The outbox and the lifecycle: retries until up, one page across replicas, re-page with a clock."""

from __future__ import annotations

import asyncio

from bot.escalation.base import Escalation
from storage.repositories import escalations
from tests.bot.escalation.conftest import make_settings, thread

ROTATION = [
    {"people": ["Anna", "Boris", "Carl"], "timezone": "UTC", "start": "2026-11-30", "handoff_time": "00:00"}
]


def _esc(key, asker, conv, qid) -> Escalation:
    return Escalation(
        session=key, user=asker, text="checkout is down for everyone", reason="detector",
        conversation_id=conv, message_id=qid,
    )  # fmt: skip


async def test_target_down_then_up_gets_exactly_one_page(db, paging, service_factory, clock):
    settings = make_settings(targets=[{"kind": "webhook", "url": f"{paging.url}/hook"}], announce_timeout=2)
    service = await service_factory(settings)
    paging.down = True
    outcome = await service.escalate(_esc(*await thread(db)))
    assert not outcome.paged and outcome.pending
    for _ in range(3):  # still down: every retry fails, nothing is lost
        clock.advance(minutes=1)
        await service.sweep()
    assert paging.accepted("/hook") == [] and len(paging.received) == 4
    paging.down = False
    for _ in range(3):  # up again: delivered once, later sweeps send nothing more
        clock.advance(minutes=1)
        await service.sweep()
    assert len(paging.accepted("/hook")) == 1
    async with db.session() as s:
        row = await escalations.get_escalation(s, escalation_id=outcome.escalation_id)
        [item] = await escalations.outbox_of(s, escalation_id=row.id)
    assert row.paged_at is not None and item.status == "sent" and item.attempts == 5


async def test_two_app_instances_send_one_page(db, paging, service_factory, clock):
    settings = make_settings(targets=[{"kind": "webhook", "url": f"{paging.url}/hook"}])
    one = await service_factory(settings, worker="replica-1")
    two = await service_factory(settings, worker="replica-2")
    paging.down = True
    key, asker, conv, qid = await thread(db)
    first, second = await asyncio.gather(
        one.escalate(_esc(key, asker, conv, qid)), two.escalate(_esc(key, asker, conv, qid))
    )
    assert first.escalation_id == second.escalation_id
    paging.down = False
    clock.advance(minutes=1)
    await asyncio.gather(one.sweep(), two.sweep(), one.sweep(), two.sweep())
    assert len(paging.accepted("/hook")) == 1


async def test_unacknowledged_page_goes_to_the_next_person(db, paging, service_factory, clock):
    settings = make_settings(
        targets=[{"kind": "webhook", "url": f"{paging.url}/hook"}], rotations=ROTATION, repage_minutes=10
    )
    service = await service_factory(settings)
    outcome = await service.escalate(_esc(*await thread(db)))
    assert outcome.paged and outcome.who == "Anna"
    clock.advance(minutes=9)
    await service.sweep()
    assert [r.body["on_call"] for r in paging.accepted("/hook")] == ["Anna"]
    clock.advance(minutes=2)
    await service.sweep()
    assert [r.body["on_call"] for r in paging.accepted("/hook")] == ["Anna", "Boris"]
    assert paging.accepted("/hook")[-1].body["event"] == "repage"
    await service.acknowledge(outcome.escalation_id, by="Boris")
    clock.advance(minutes=30)
    await service.sweep()
    await service.drain()
    assert [r.body["event"] for r in paging.accepted("/hook")] == ["trigger", "repage", "acknowledge"]
    async with db.session() as s:
        row = await escalations.get_escalation(s, escalation_id=outcome.escalation_id)
    assert row.repage_count == 1 and row.assignee == "Boris" and row.acknowledged_by == "Boris"


async def test_no_target_means_not_paged(db, service_factory):
    service = await service_factory(make_settings())
    outcome = await service.escalate(_esc(*await thread(db)))
    assert not outcome.paged and not outcome.pending
