"""Tickets: Jira and GitLab fakes; opened with the transcript through the outbox, closed on resolve."""

from __future__ import annotations

import pytest

from bot.escalation.base import Escalation
from storage.repositories import escalations
from tests.bot.escalation.conftest import make_settings, thread
from tests.fakes.tickets_server import FakeTicketServer


@pytest.fixture
async def tickets():
    fake = FakeTicketServer()
    await fake.start()
    yield fake
    await fake.close()


@pytest.mark.parametrize("kind", ["jira", "gitlab"])
async def test_ticket_opened_with_the_transcript_and_closed_on_resolve(
    db, paging, tickets, service_factory, kind
):
    project = "OPS" if kind == "jira" else "infra/ops"
    settings = make_settings(
        targets=[{"kind": "webhook", "url": f"{paging.url}/hook"}],
        tickets={"kind": kind, "url": tickets.url, "token": tickets.token, "project": project},
    )
    service = await service_factory(settings)
    told: list[str] = []

    async def notify(key, text):
        told.append(text)

    service.register_notifier("slack", notify)
    key, asker, conv, qid = await thread(db)
    outcome = await service.escalate(
        Escalation(session=key, user=asker, text="orders API returns 500 to partners", reason="detector",
                   conversation_id=conv, message_id=qid, answer="Check the gateway.")
    )  # fmt: skip
    await service.drain()
    [issue] = tickets.issues.values()
    text = issue["fields"]["description"] if kind == "jira" else issue["description"]
    assert "orders API returns 500 to partners" in text and "Check the gateway." in text
    assert "https://slack.com/archives/C1/p1001" in text
    async with db.session() as s:
        row = await escalations.get_escalation(s, escalation_id=outcome.escalation_id)
    assert row.ticket_key and row.ticket_url and any(row.ticket_url in line for line in told)
    await service.resolve(outcome.escalation_id, by="anna")
    await service.drain()
    assert (issue["status"] == "Done") if kind == "jira" else (issue["state"] == "closed")
