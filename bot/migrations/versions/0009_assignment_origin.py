"""assignment origin

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "origin",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="claim",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.drop_column("origin")
