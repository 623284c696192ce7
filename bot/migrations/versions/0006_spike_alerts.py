"""spike alerts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spikealert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("usual", sa.Float(), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spikealert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_spikealert_topic_id"), ["topic_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("spikealert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spikealert_topic_id"))

    op.drop_table("spikealert")
