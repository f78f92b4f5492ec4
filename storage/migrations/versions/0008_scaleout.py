"""Scale-out: answers in flight, visible to every replica

Revision ID: 0008_scaleout
Revises: 0005_analytics
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_scaleout"
down_revision = "0005_analytics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("session_key", sa.String(length=512), nullable=False),
        sa.Column("replica", sa.String(length=128), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_answer_runs_session_key", "answer_runs", ["session_key"])
    op.create_index("ix_answer_runs_heartbeat_at", "answer_runs", ["heartbeat_at"])


def downgrade() -> None:
    op.drop_index("ix_answer_runs_heartbeat_at", table_name="answer_runs")
    op.drop_index("ix_answer_runs_session_key", table_name="answer_runs")
    op.drop_table("answer_runs")
