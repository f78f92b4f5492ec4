"""analytics: time to first token and the asker's role on messages; A/B variant states

Revision ID: 0005_analytics
Revises: 0004_scheduler_sync
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_analytics"
down_revision = "0004_scheduler_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ttft_ms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("role", sa.String(length=32), nullable=True))
    op.create_table(
        "prompt_variant_states",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("prompt_variant_states")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("role")
        batch_op.drop_column("ttft_ms")
