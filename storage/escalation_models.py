"""Escalation tables: one row per escalated thread, its lifecycle events, the paging outbox, captured Q&A.

Analytics reads these. All timestamps are timezone-aware UTC. The durations analytics computes:

- time to acknowledge = ``escalations.acknowledged_at - escalations.created_at``
- time to first human reply = ``escalations.first_human_reply_at - escalations.created_at``
- time to resolve = ``escalations.resolved_at - escalations.created_at``

A column that is ``NULL`` means "has not happened (yet)".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, IdType, UtcDateTime, utcnow

SEVERITIES = ("critical", "high", "normal")
STATES = ("open", "acknowledged", "resolved")
TRIGGERS = ("detector", "llm", "channel_rule", "user_request", "abstained")


class EscalationRow(Base):
    """One escalation of a thread (a conversation) to a human.

    A thread has at most one unresolved escalation (``active_key`` is unique and ``NULL`` once resolved);
    a thread escalated again after it was resolved gets a new row.

    Columns:
        id: the escalation's id (also in PagerDuty's ``dedup_key`` as ``opora-<id>``).
        conversation_id: the escalated thread (``conversations.id``); ``NULL`` if the thread was deleted.
        platform, channel, thread: the thread's key, copied so analytics needs no join
            (platform: ``slack`` | ``telegram`` | ``mattermost`` | ``web`` | ``api`` | ``cli``).
        question_message_id: the message that triggered it (``messages.id``), if any.
        answer_message_id: the bot's answer to that message, once stored.
        trigger: what raised it: ``detector`` (offline classifier/rules), ``llm`` (LLM judgement),
            ``channel_rule`` (the channel's "always page"), ``user_request`` ("call a human" button or
            command), ``abstained`` (👎 after an abstain, then "call a human").
        severity: ``critical`` | ``high`` | ``normal``.
        reasons: list of short strings saying why (classifier score, matched rules, LLM reason).
        state: ``open`` → ``acknowledged`` → ``resolved`` (``resolved`` may also follow ``open``).
        assignee: the person currently paged (name from the rotation), ``NULL`` if no rotation.
        assignee_index: that person's position in the rotation (re-pages move to the next one).
        acknowledged_by, resolved_by: who did it (a person's name or the platform user id).
        created_at: when the thread was escalated (the clock analytics starts from).
        paged_at: when a target first accepted the page (``NULL``: nobody was reached yet).
        acknowledged_at: first acknowledgement (button, reaction, PagerDuty webhook, web chat).
        first_human_reply_at: first message by a human other than the asker in the thread.
        resolved_at: when it was resolved.
        last_paged_at: the latest (re-)page, the re-page timer counts from it.
        repage_count: how many times it was re-paged because nobody acknowledged in time.
        ticket_key, ticket_url: the Jira / GitLab issue opened for it, if any.
        updated_at: last change of this row.
    """

    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_conversation", "conversation_id"),
        Index("ix_escalations_state", "state", "last_paged_at"),
        Index("ix_escalations_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    active_key: Mapped[int | None] = mapped_column(IdType, unique=True)  # conversation_id while unresolved
    platform: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(255))
    thread: Mapped[str] = mapped_column(String(255))
    question_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    trigger: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16), default="critical")
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="open")
    assignee: Mapped[str | None] = mapped_column(String(255))
    assignee_index: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    paged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_human_reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_paged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    repage_count: Mapped[int] = mapped_column(Integer, default=0)
    ticket_key: Mapped[str | None] = mapped_column(String(255))
    ticket_url: Mapped[str | None] = mapped_column(String(2048))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class EscalationEvent(Base):
    """The lifecycle of an escalation, one row per step (an audit trail analytics may read).

    Columns:
        escalation_id: the escalation.
        kind: ``opened`` | ``paged`` | ``page_failed`` | ``acknowledged`` | ``human_reply`` | ``repaged``
            | ``resolved`` | ``ticket_opened`` | ``ticket_closed`` | ``captured``.
        actor: who caused it (a person, a target kind, ``bot``).
        detail: free-form JSON (target, error, person, ...).
        created_at: when it happened.
    """

    __tablename__ = "escalation_events"
    __table_args__ = (Index("ix_escalation_events_escalation", "escalation_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxItem(Base):
    """A durable send to one paging target (or a ticket system): retried until accepted, sent once.

    A worker claims due rows (``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL; a conditional
    ``UPDATE … WHERE claimed_until < now`` on SQLite) by setting ``claimed_by``/``claimed_until``; only
    the claimer sends, then marks the row ``sent``. ``dedupe_key`` is unique, so the same page is never
    queued twice, whatever the number of replicas.

    Columns:
        escalation_id: the escalation this send belongs to.
        dedupe_key: unique; ``<escalation>:<target>:<action>:<seq>``.
        target: the target's name (``escalation.targets[i].name``, default ``<kind>-<i>``).
        kind: ``pagerduty`` | ``grafana`` | ``webhook`` | ``slack`` | ``telegram`` | ``mattermost``
            | ``jira`` | ``gitlab``.
        action: ``trigger`` | ``acknowledge`` | ``resolve`` | ``repage`` | ``open_ticket`` | ``close_ticket``.
        payload: what to send (question, answer, link, person, severity, ...).
        status: ``pending`` → ``sent``; ``failed`` after ``max_attempts`` (kept, never deleted).
        attempts: sends tried so far.
        next_attempt_at: not before this time (backoff after a failure).
        claimed_by, claimed_until: the worker holding it, and until when (a crashed worker's claim expires).
        last_error: the last failure (status code / exception class), never a secret.
        result: what the target answered that we keep (messenger message ref, ticket key/url, ...).
        created_at, sent_at: queued and accepted times (page latency = ``sent_at - created_at``).
    """

    __tablename__ = "escalation_outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_escalation_outbox_dedupe"),
        Index("ix_escalation_outbox_due", "status", "next_attempt_at"),
        Index("ix_escalation_outbox_escalation", "escalation_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CapturedAnswer(Base):
    """A Q&A entry drafted from a resolved escalation, reviewed, then answered from (knowledge capture).

    Columns:
        escalation_id: where it was captured from (``NULL`` if added by hand or the escalation was deleted).
        question: the question as asked (or as the reviewer edited it).
        answer: the human's answer verbatim, or an LLM summary of the thread; editable in review.
        lang: ``ru`` | ``en``.
        answered_by: the person who answered in the thread (shown as "answered by <person>, <date>").
        answered_at: when they answered.
        status: ``draft`` (in the review queue) | ``approved`` (indexed, answered from) | ``rejected``.
        summarised: True when the draft is an LLM summary, False for the verbatim answer.
        reviewed_by, reviewed_at: the reviewer's decision.
        created_at, updated_at: row times.
    """

    __tablename__ = "captured_answers"
    __table_args__ = (Index("ix_captured_answers_status", "status", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    answered_by: Mapped[str | None] = mapped_column(String(255))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="draft")
    summarised: Mapped[bool] = mapped_column(default=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(255))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
