"""escalation: escalations, their events, the paging outbox, captured answers; message severity

Revision ID: 0003_escalation
Revises: 0002_api_tokens
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_escalation"
down_revision = "0002_api_tokens"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("active_key", ID, nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=255), nullable=False),
        sa.Column("thread", sa.String(length=255), nullable=False),
        sa.Column("question_message_id", ID, nullable=True),
        sa.Column("answer_message_id", ID, nullable=True),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=255), nullable=True),
        sa.Column("assignee_index", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=255), nullable=True),
        sa.Column("resolved_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("paged_at", TS, nullable=True),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column("first_human_reply_at", TS, nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("last_paged_at", TS, nullable=True),
        sa.Column("repage_count", sa.Integer(), nullable=False),
        sa.Column("ticket_key", sa.String(length=255), nullable=True),
        sa.Column("ticket_url", sa.String(length=2048), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["question_message_id"], ["messages.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["answer_message_id"], ["messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_key"),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index("ix_escalations_conversation", ["conversation_id"], unique=False)
        batch_op.create_index("ix_escalations_state", ["state", "last_paged_at"], unique=False)
        batch_op.create_index("ix_escalations_created_at", ["created_at"], unique=False)

    op.create_table(
        "escalation_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("escalation_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("escalation_events", schema=None) as batch_op:
        batch_op.create_index("ix_escalation_events_escalation", ["escalation_id", "id"], unique=False)

    op.create_table(
        "escalation_outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("escalation_id", ID, nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_escalation_outbox_dedupe"),
    )
    with op.batch_alter_table("escalation_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_escalation_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_escalation_outbox_escalation", ["escalation_id"], unique=False)

    op.create_table(
        "captured_answers",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("escalation_id", ID, nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("answered_by", sa.String(length=255), nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summarised", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=255), nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("captured_answers", schema=None) as batch_op:
        batch_op.create_index("ix_captured_answers_status", ["status", "id"], unique=False)

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("severity", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("severity_reasons", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("severity_reasons")
        batch_op.drop_column("severity")
    op.drop_table("captured_answers")
    op.drop_table("escalation_outbox")
    op.drop_table("escalation_events")
    op.drop_table("escalations")
