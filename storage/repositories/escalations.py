"""Escalations: one row per escalated thread, its lifecycle, the durable paging outbox, captured Q&A.

Every state change is a conditional ``UPDATE`` (``… WHERE state = 'open'``), so two replicas racing on the
same escalation cannot both acknowledge, re-page or resolve it: the loser's rowcount is 0.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.escalation_models import CapturedAnswer, EscalationEvent, EscalationRow, OutboxItem
from storage.models import Message, utcnow
from storage.repositories._upsert import insert_for


async def open_escalation(
    session: AsyncSession,
    *,
    conversation_id: int,
    platform: str,
    channel: str,
    thread: str,
    trigger: str,
    severity: str,
    reasons: list[str],
    question_message_id: int | None = None,
    assignee: str | None = None,
    assignee_index: int = 0,
    now: datetime | None = None,
) -> tuple[EscalationRow, bool]:
    """The thread's unresolved escalation, creating it if there is none. ``True`` when created here."""
    now = now or utcnow()
    insert = insert_for(session, EscalationRow).values(
        conversation_id=conversation_id,
        active_key=conversation_id,
        platform=platform,
        channel=channel,
        thread=thread,
        question_message_id=question_message_id,
        trigger=trigger,
        severity=severity,
        reasons=list(reasons),
        state="open",
        assignee=assignee,
        assignee_index=assignee_index,
        repage_count=0,
        created_at=now,
        last_paged_at=now,
        updated_at=now,
    )
    result = await session.execute(insert.on_conflict_do_nothing(index_elements=["active_key"]))
    created = bool(result.rowcount)
    row = await active_for_conversation(session, conversation_id=conversation_id)
    assert row is not None
    if created:
        session.add(
            EscalationEvent(
                escalation_id=row.id,
                kind="opened",
                actor=trigger,
                created_at=now,
                detail={"severity": severity, "reasons": list(reasons)},
            )
        )
        await session.flush()
    return row, created


async def get_escalation(session: AsyncSession, *, escalation_id: int) -> EscalationRow | None:
    return await session.get(EscalationRow, escalation_id, populate_existing=True)


async def active_for_conversation(session: AsyncSession, *, conversation_id: int) -> EscalationRow | None:
    """The unresolved escalation of a thread, if any."""
    found = await session.execute(
        select(EscalationRow)
        .where(EscalationRow.active_key == conversation_id)
        .execution_options(populate_existing=True)
    )
    return found.scalar_one_or_none()


async def latest_for_conversation(session: AsyncSession, *, conversation_id: int) -> EscalationRow | None:
    """The thread's newest escalation, resolved or not."""
    found = await session.execute(
        select(EscalationRow)
        .where(EscalationRow.conversation_id == conversation_id)
        .order_by(EscalationRow.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def list_escalations(
    session: AsyncSession, *, state: str | None = None, limit: int = 100
) -> list[EscalationRow]:
    query = select(EscalationRow).order_by(EscalationRow.id.desc()).limit(limit)
    if state is not None:
        query = query.where(EscalationRow.state == state)
    return list((await session.execute(query)).scalars())


async def list_with_questions(
    session: AsyncSession, *, states: Collection[str] | None = None, limit: int = 100
) -> list[tuple[EscalationRow, str | None]]:
    """Escalations, newest first, each with the text of its question.

    The question is the message that raised the escalation or, when none is recorded (a "call a human"
    press), the thread's latest question asked before it.
    """
    raised_by = select(Message.text).where(Message.id == EscalationRow.question_message_id)
    asked_before = (
        select(Message.text)
        .where(
            Message.conversation_id == EscalationRow.conversation_id,
            Message.kind == "question",
            Message.created_at <= EscalationRow.created_at,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    question = func.coalesce(raised_by.scalar_subquery(), asked_before.scalar_subquery())
    query = select(EscalationRow, question).order_by(EscalationRow.id.desc()).limit(limit)
    if states is not None:
        query = query.where(EscalationRow.state.in_(list(states)))
    return [(row, text) for row, text in (await session.execute(query)).all()]


async def add_event(
    session: AsyncSession,
    *,
    escalation_id: int,
    kind: str,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    session.add(
        EscalationEvent(
            escalation_id=escalation_id,
            kind=kind,
            actor=actor,
            detail=detail or {},
            created_at=now or utcnow(),
        )
    )
    await session.flush()


async def events_of(session: AsyncSession, *, escalation_id: int) -> list[EscalationEvent]:
    found = await session.execute(
        select(EscalationEvent)
        .where(EscalationEvent.escalation_id == escalation_id)
        .order_by(EscalationEvent.id)
    )
    return list(found.scalars())


async def mark_paged(session: AsyncSession, *, escalation_id: int, now: datetime | None = None) -> bool:
    """The first accepted page sets ``paged_at``; True only for that first one."""
    now = now or utcnow()
    result = await session.execute(
        update(EscalationRow)
        .where(EscalationRow.id == escalation_id, EscalationRow.paged_at.is_(None))
        .values(paged_at=now, updated_at=now)
    )
    return bool(result.rowcount)


async def acknowledge(
    session: AsyncSession, *, escalation_id: int, by: str | None, now: datetime | None = None
) -> bool:
    """open → acknowledged. False when it was already acknowledged or resolved."""
    now = now or utcnow()
    result = await session.execute(
        update(EscalationRow)
        .where(EscalationRow.id == escalation_id, EscalationRow.state == "open")
        .values(state="acknowledged", acknowledged_at=now, acknowledged_by=by, updated_at=now)
    )
    if result.rowcount:
        await add_event(session, escalation_id=escalation_id, kind="acknowledged", actor=by, now=now)
    return bool(result.rowcount)


async def resolve(
    session: AsyncSession, *, escalation_id: int, by: str | None, now: datetime | None = None
) -> bool:
    """open/acknowledged → resolved (an unacknowledged one counts as acknowledged now). False if resolved."""
    now = now or utcnow()
    row = await get_escalation(session, escalation_id=escalation_id)
    if row is None or row.state == "resolved":
        return False
    values: dict[str, Any] = {"state": "resolved", "resolved_at": now, "resolved_by": by, "active_key": None}
    values["updated_at"] = now
    if row.acknowledged_at is None:
        values.update(acknowledged_at=now, acknowledged_by=by)
    result = await session.execute(
        update(EscalationRow)
        .where(EscalationRow.id == escalation_id, EscalationRow.state != "resolved")
        .values(**values)
    )
    if result.rowcount:
        await add_event(session, escalation_id=escalation_id, kind="resolved", actor=by, now=now)
    return bool(result.rowcount)


async def record_human_reply(
    session: AsyncSession, *, escalation_id: int, by: str | None, now: datetime | None = None
) -> bool:
    """The first human answer in the thread sets ``first_human_reply_at``; True only for that one."""
    now = now or utcnow()
    result = await session.execute(
        update(EscalationRow)
        .where(EscalationRow.id == escalation_id, EscalationRow.first_human_reply_at.is_(None))
        .values(first_human_reply_at=now, updated_at=now)
    )
    if result.rowcount:
        await add_event(session, escalation_id=escalation_id, kind="human_reply", actor=by, now=now)
    return bool(result.rowcount)


async def due_for_repage(session: AsyncSession, *, paged_before: datetime) -> list[EscalationRow]:
    """Open (unacknowledged) escalations whose last page is older than ``paged_before``."""
    found = await session.execute(
        select(EscalationRow)
        .where(EscalationRow.state == "open", EscalationRow.last_paged_at < paged_before)
        .order_by(EscalationRow.id)
    )
    return list(found.scalars())


async def claim_repage(
    session: AsyncSession,
    *,
    escalation_id: int,
    seen_count: int,
    assignee: str | None,
    assignee_index: int,
    now: datetime | None = None,
) -> bool:
    """Move an unacknowledged escalation to the next person. Only one replica wins (``repage_count``)."""
    now = now or utcnow()
    result = await session.execute(
        update(EscalationRow)
        .where(
            EscalationRow.id == escalation_id,
            EscalationRow.state == "open",
            EscalationRow.repage_count == seen_count,
        )
        .values(
            repage_count=seen_count + 1,
            assignee=assignee,
            assignee_index=assignee_index,
            last_paged_at=now,
            updated_at=now,
        )
    )
    if result.rowcount:
        await add_event(
            session,
            escalation_id=escalation_id,
            kind="repaged",
            actor=assignee,
            now=now,
            detail={"repage": seen_count + 1},
        )
    return bool(result.rowcount)


async def set_answer_message(session: AsyncSession, *, escalation_id: int, message_id: int) -> None:
    await session.execute(
        update(EscalationRow)
        .where(EscalationRow.id == escalation_id, EscalationRow.answer_message_id.is_(None))
        .values(answer_message_id=message_id)
    )


async def set_ticket(session: AsyncSession, *, escalation_id: int, key: str, url: str | None) -> None:
    await session.execute(
        update(EscalationRow).where(EscalationRow.id == escalation_id).values(ticket_key=key, ticket_url=url)
    )


async def set_message_severity(
    session: AsyncSession, *, message_id: int, severity: str, reasons: list[str]
) -> None:
    """Store the incident check of a question on its message row."""
    await session.execute(
        update(Message)
        .where(Message.id == message_id)
        .values(severity=severity, severity_reasons=list(reasons))
    )


# --- outbox -------------------------------------------------------------------------------------------


async def enqueue(
    session: AsyncSession,
    *,
    escalation_id: int,
    dedupe_key: str,
    target: str,
    kind: str,
    action: str,
    payload: dict[str, Any],
    not_before: datetime | None = None,
) -> bool:
    """Queue one send. False when a send with this ``dedupe_key`` is already queued (never twice)."""
    now = utcnow()
    insert = insert_for(session, OutboxItem).values(
        escalation_id=escalation_id,
        dedupe_key=dedupe_key[:255],
        target=target,
        kind=kind,
        action=action,
        payload=payload,
        status="pending",
        attempts=0,
        next_attempt_at=not_before or now,
        result={},
        created_at=now,
    )
    result = await session.execute(insert.on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return bool(result.rowcount)


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    lease: timedelta,
    limit: int = 20,
    now: datetime | None = None,
    ids: list[int] | None = None,
) -> list[OutboxItem]:
    """Claim up to ``limit`` due sends for ``worker`` until ``now + lease``.

    PostgreSQL locks the candidate rows with ``FOR UPDATE SKIP LOCKED`` (another replica skips them);
    on every dialect the claim itself is a conditional ``UPDATE`` on the claim columns, so a row whose
    claim has not expired is never handed to a second worker. Commit right after to publish the claim.
    """
    now = now or utcnow()
    free = or_(OutboxItem.claimed_until.is_(None), OutboxItem.claimed_until < now)
    query = (
        select(OutboxItem.id)
        .where(OutboxItem.status == "pending", OutboxItem.next_attempt_at <= now, free)
        .order_by(OutboxItem.id)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(OutboxItem.id.in_(ids))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    candidates = list((await session.execute(query)).scalars())
    claimed: list[int] = []
    for item_id in candidates:
        result = await session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.status == "pending", free)
            .values(claimed_by=worker, claimed_until=now + lease)
        )
        if result.rowcount:
            claimed.append(item_id)
    if not claimed:
        return []
    found = await session.execute(
        select(OutboxItem)
        .where(OutboxItem.id.in_(claimed))
        .order_by(OutboxItem.id)
        .execution_options(populate_existing=True)
    )
    return list(found.scalars())


async def mark_sent(
    session: AsyncSession, *, item_id: int, worker: str, result: dict[str, Any], now: datetime | None = None
) -> bool:
    """The target accepted the send. Only the claiming worker may mark it."""
    now = now or utcnow()
    done = await session.execute(
        update(OutboxItem)
        .where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker, OutboxItem.status == "pending")
        .values(
            status="sent",
            sent_at=now,
            result=result,
            attempts=OutboxItem.attempts + 1,
            claimed_until=None,
            last_error=None,
        )
    )
    return bool(done.rowcount)


async def mark_failed(
    session: AsyncSession,
    *,
    item_id: int,
    worker: str,
    error: str,
    retry_at: datetime | None,
) -> None:
    """A failed attempt: retried at ``retry_at``, or ``failed`` for good when ``retry_at`` is None."""
    values: dict[str, Any] = {
        "attempts": OutboxItem.attempts + 1,
        "last_error": error[:2000],
        "claimed_until": None,
        "claimed_by": None,
    }
    if retry_at is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = retry_at
    await session.execute(
        update(OutboxItem).where(OutboxItem.id == item_id, OutboxItem.claimed_by == worker).values(**values)
    )


async def outbox_of(session: AsyncSession, *, escalation_id: int) -> list[OutboxItem]:
    found = await session.execute(
        select(OutboxItem)
        .where(OutboxItem.escalation_id == escalation_id)
        .order_by(OutboxItem.id)
        .execution_options(populate_existing=True)
    )
    return list(found.scalars())


async def escalation_of_page(session: AsyncSession, *, kind: str, platform_ref: str) -> int | None:
    """The escalation whose messenger page (a trigger or re-page of ``kind``) was posted as ``platform_ref``.

    The ref is in the sent row's ``result`` (``bot.escalation.messenger_targets``); the JSON lookup
    works on SQLite and PostgreSQL alike, and the rows are narrowed to sent pages of one messenger first.
    """
    found = await session.execute(
        select(OutboxItem.escalation_id)
        .where(
            OutboxItem.kind == kind,
            OutboxItem.status == "sent",
            OutboxItem.action.in_(("trigger", "repage")),
            OutboxItem.result["platform_ref"].as_string() == platform_ref,
        )
        .order_by(OutboxItem.id.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def get_outbox_item(session: AsyncSession, *, item_id: int) -> OutboxItem | None:
    return await session.get(OutboxItem, item_id, populate_existing=True)


# --- captured answers ---------------------------------------------------------------------------------


async def add_captured(
    session: AsyncSession,
    *,
    escalation_id: int | None,
    question: str,
    answer: str,
    lang: str | None,
    answered_by: str | None,
    answered_at: datetime | None,
    summarised: bool,
) -> CapturedAnswer:
    row = CapturedAnswer(
        escalation_id=escalation_id,
        question=question,
        answer=answer,
        lang=lang,
        answered_by=answered_by,
        answered_at=answered_at,
        summarised=summarised,
        status="draft",
    )
    session.add(row)
    await session.flush()
    return row


async def summarise_captured(session: AsyncSession, *, entry_id: int, verbatim: str, summary: str) -> bool:
    """Replace a draft's verbatim answer with its summary; False once reviewed or edited (kept as it is)."""
    result = await session.execute(
        update(CapturedAnswer)
        .where(
            CapturedAnswer.id == entry_id,
            CapturedAnswer.status == "draft",
            CapturedAnswer.answer == verbatim,
            CapturedAnswer.summarised.is_(False),
        )
        .values(answer=summary, summarised=True, updated_at=utcnow())
    )
    return bool(result.rowcount)


async def captured_for_escalation(session: AsyncSession, *, escalation_id: int) -> CapturedAnswer | None:
    found = await session.execute(select(CapturedAnswer).where(CapturedAnswer.escalation_id == escalation_id))
    return found.scalars().first()


async def list_captured(session: AsyncSession, *, status: str | None = None) -> list[CapturedAnswer]:
    query = select(CapturedAnswer).order_by(CapturedAnswer.id)
    if status is not None:
        query = query.where(CapturedAnswer.status == status)
    return list((await session.execute(query)).scalars())


async def get_captured(session: AsyncSession, *, entry_id: int) -> CapturedAnswer | None:
    return await session.get(CapturedAnswer, entry_id, populate_existing=True)


async def review_captured(
    session: AsyncSession,
    *,
    entry_id: int,
    status: str,
    reviewer: str | None,
    question: str | None = None,
    answer: str | None = None,
) -> CapturedAnswer | None:
    """Approve or reject an entry, optionally with the reviewer's edits."""
    row = await get_captured(session, entry_id=entry_id)
    if row is None:
        return None
    now = utcnow()
    if question is not None and question.strip():
        row.question = question.strip()
    if answer is not None and answer.strip():
        row.answer = answer.strip()
    row.status = status
    row.reviewed_by = reviewer
    row.reviewed_at = now
    row.updated_at = now
    await session.flush()
    return row


# --- human messages in escalated threads -------------------------------------------------------------


async def add_human_message(
    session: AsyncSession,
    *,
    conversation_id: int,
    user_id: int | None,
    text: str,
    now: datetime | None = None,
    kind: str = "human",
) -> Message:
    """A message the bot does not answer in an escalated thread.

    ``kind``: ``human`` (a person other than the asker answered; knowledge capture reads these) or
    ``followup`` (the asker wrote on after a human took over).
    """
    msg = Message(
        conversation_id=conversation_id,
        user_id=user_id,
        kind=kind,
        text=text,
        sources=[],
        created_at=now or utcnow(),
    )
    session.add(msg)
    await session.flush()
    return msg


async def human_messages(session: AsyncSession, *, conversation_id: int) -> list[Message]:
    found = await session.execute(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.kind == "human")
        .order_by(Message.id)
    )
    return list(found.scalars())
