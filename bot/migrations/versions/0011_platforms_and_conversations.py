"""platforms on departments and executives; conversations Upside can post in

Existing departments and executives are Slack's, as everything was before Teams.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}  # names SQLite's unnamed constraints


def _platform() -> sa.Column:
    return sa.Column(
        "platform",
        sqlmodel.sql.sqltypes.AutoString(length=20),
        server_default="slack",
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(_platform())
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_constraint("executive_user_id_key", "executive", type_="unique")
    with op.batch_alter_table("executive", schema=None, naming_convention=UNNAMED) as batch_op:
        if not postgres:
            batch_op.drop_constraint("uq_executive_user_id", type_="unique")
        batch_op.add_column(_platform())
        batch_op.add_column(
            sa.Column(
                "workspace",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                server_default="",
                nullable=False,
            )
        )
        batch_op.create_unique_constraint("uq_executive_platform_user", ["platform", "user_id"])
    op.create_table(
        "conversation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("workspace", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("conversation_id", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reference", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("platform", "conversation_id"),
    )
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversation_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_conversation_channel_id"), ["channel_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("conversation")
    with op.batch_alter_table("executive", schema=None) as batch_op:
        batch_op.drop_constraint("uq_executive_platform_user", type_="unique")
        batch_op.drop_column("workspace")
        batch_op.drop_column("platform")
        batch_op.create_unique_constraint("uq_executive_user_id", ["user_id"])
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_column("platform")
