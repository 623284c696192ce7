"""reveals of a complaint's received words; non-web links moved out of employees' view

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reveal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("executive_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["executive_id"], ["executive.id"]),
        sa.ForeignKeyConstraint(["feedback_id"], ["feedbackitem.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_reveal_executive_id"), "reveal", ["executive_id"])
    op.create_index(op.f("ix_reveal_feedback_id"), "reveal", ["feedback_id"])
    # Links such as mailto: stay with the received words, as ingest now keeps them
    op.execute(
        "UPDATE feedbackitem SET text = text || '\n\nLink: ' || link, link = '' "
        "WHERE link <> '' AND lower(link) NOT LIKE 'http://%' AND lower(link) NOT LIKE 'https://%'"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_reveal_feedback_id"), table_name="reveal")
    op.drop_index(op.f("ix_reveal_executive_id"), table_name="reveal")
    op.drop_table("reveal")
