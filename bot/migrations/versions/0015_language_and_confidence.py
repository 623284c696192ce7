"""each item's language, whether the model reads it, and how sure its sentiment is

Items labelled before this keep a NULL confidence: they count as they did until
`upside reclassify` labels them again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedbackitem", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentiment_confidence", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "language",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                server_default="und",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("readable", sa.Boolean(), server_default=sa.true(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("feedbackitem", schema=None) as batch_op:
        batch_op.drop_column("readable")
        batch_op.drop_column("language")
        batch_op.drop_column("sentiment_confidence")
