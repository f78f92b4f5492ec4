"""SQLAlchemy 2 models. Migrations in ``storage/migrations`` are the schema's source of truth."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


# BigInteger ids on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_users_platform_external"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), default="default")
    language: Mapped[str | None] = mapped_column(String(8))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Conversation(Base):
    """One thread: platform + channel + thread root. Web chat conversations belong to their owner."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("platform", "channel", "thread", name="uq_conversations_key"),
        Index("ix_conversations_owner", "owner_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(255))
    thread: Mapped[str] = mapped_column(String(255))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(String(255))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # asked where its question may be shown to others as a popular one (never DMs, private channels, API)
    shareable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    messages: Mapped[list[Message]] = relationship(back_populates="conversation", passive_deletes=True)


class Message(Base):
    """A question and, on its own row, the answer to it (``reply_to`` points at the question)."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # question | answer | human | followup (escalated threads)
    reply_to: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    sources: Mapped[list[Any]] = mapped_column(JSON, default=list)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    ttft_ms: Mapped[int | None] = mapped_column(Integer)  # answer rows: question received → first text
    role: Mapped[str | None] = mapped_column(String(32))  # question rows: the asker's role for this question
    provider: Mapped[str | None] = mapped_column(String(64))
    prompt_variant: Mapped[str | None] = mapped_column(String(64))
    abstained: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    platform_ref: Mapped[str | None] = mapped_column(String(255))  # the platform's id of the posted message
    # Incident check of a question: critical | high | normal (NULL: not checked, e.g. human takeover), and
    # why (classifier score, matched rules, LLM reason), as a list of short strings.
    severity: Mapped[str | None] = mapped_column(String(16))
    severity_reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Feedback(Base):
    """One vote per user per answer; a later vote replaces the earlier one."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("message_id", "user_id", name="uq_feedback_message_user"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    value: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_documents_source_external"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # stable, derived from source + external id
    source: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(512))
    path: Mapped[str | None] = mapped_column(String(1024))
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(512))
    lang: Mapped[str | None] = mapped_column(String(8))
    content_hash: Mapped[str | None] = mapped_column(String(64))  # hash that is fully indexed, or None
    pending_hash: Mapped[str | None] = mapped_column(String(64))  # hash being indexed
    version: Mapped[int] = mapped_column(Integer, default=1)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class IngestRun(Base):
    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ProcessedEvent(Base):
    """Platform event ids already handled: a redelivered event is dropped, across replicas."""

    __tablename__ = "processed_events"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class AnswerCacheEntry(Base):
    """Shared LLM answer cache (replicas share it); ``doc_versions`` invalidates on document change."""

    __tablename__ = "answer_cache"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    doc_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Setting(Base):
    """Small key/value state that must survive restarts (e.g. the generated web session secret)."""

    __tablename__ = "kv_settings"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class JobRun(Base):
    """One run of a scheduled job (``bot.scheduler``): who ran it, when, how it ended, what it counted."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job", "job", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(128))
    instance: Mapped[str] = mapped_column(String(128))  # the replica (host:pid:random) that ran it
    status: Mapped[str] = mapped_column(String(16), default="running")  # ok failed interrupted abandoned
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Checkpoint(Base):
    """Where a long job got to (a sync's window, a batch cursor), so a killed run resumes from there."""

    __tablename__ = "checkpoints"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ApiToken(Base):
    """A REST API bearer token. Only its SHA-256 is stored; the token itself is shown once, at creation."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        # a name is unique among live tokens; a revoked token's name may be given to a new one
        Index(
            "uq_api_tokens_live_name",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a token in lists
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)  # None: api.rate_limit_per_minute
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RateLimitBucket(Base):
    """One token bucket of the shared rate limiter (``bot.ratelimit``); times are Unix seconds."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)
    full_at: Mapped[float] = mapped_column(Float, index=True)  # the bucket is full (forgettable) after this


class PromptVariantState(Base):
    """An A/B prompt variant stopped or promoted from the analytics page; read by the prompt selection."""

    __tablename__ = "prompt_variant_states"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # active | stopped | promoted
    updated_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# Escalation tables live in their own module; importing it registers them on ``Base.metadata``. A plain
# import (not ``from … import``) so that importing ``storage.escalation_models`` first works too.
import storage.escalation_models  # noqa: E402, F401

# Replica coordination (answers in flight) lives in its own module too.
from storage.scaleout_models import AnswerRun  # noqa: E402, F401
