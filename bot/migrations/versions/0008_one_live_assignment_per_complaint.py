"""one live assignment per complaint

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.create_index(
            "ux_complaint_live",
            ["feedback_id"],
            unique=True,
            sqlite_where=sa.text("status != 'released'"),
            postgresql_where=sa.text("status != 'released'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_complaint_live",
            sqlite_where=sa.text("status != 'released'"),
            postgresql_where=sa.text("status != 'released'"),
        )
