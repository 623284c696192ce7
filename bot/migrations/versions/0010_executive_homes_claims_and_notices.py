"""executive homes, claims and notices

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key"),
    )
    # what the monthly programme did before notices existed: months assigned, DMs sent
    columns = 'kind, "key", status, attempts, error, message_ref, created_at, sent_at'
    op.execute(
        f"INSERT INTO notice ({columns})"
        " SELECT 'assignment', month, 'sent', 1, '', '', MIN(assigned_at), MIN(assigned_at)"
        " FROM complaintassignment WHERE origin = 'monthly' GROUP BY month"
    )
    op.execute(
        f"INSERT INTO notice ({columns})"
        " SELECT 'assigned', CAST(id AS VARCHAR(100)), 'sent', 1, '', '', assigned_at, assigned_at"
        " FROM complaintassignment WHERE origin = 'monthly'"
    )
    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(  # a complaint taken with `claim` was claimed when it was assigned
        "UPDATE complaintassignment SET claimed_at = assigned_at WHERE origin = 'claim'"
    )

    with op.batch_alter_table("executive", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("home_topics", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(
            sa.Column("home_departments", sa.JSON(), server_default="[]", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("executive", schema=None) as batch_op:
        batch_op.drop_column("home_departments")
        batch_op.drop_column("home_topics")

    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")

    op.drop_table("notice")
