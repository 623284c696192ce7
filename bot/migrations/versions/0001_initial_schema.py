"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "department",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("digest_time", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("work_days", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "executive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("out_of_office_from", sa.Date(), nullable=True),
        sa.Column("out_of_office_until", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
    )
    op.create_table(
        "digestrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("message_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department_id", "period_end"),
    )
    op.create_table(
        "topic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topic_department_id"), ["department_id"], unique=False)

    op.create_table(
        "feedbackitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("display_text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sentiment", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("sentiment_score", sa.Float(), nullable=True),
        sa.Column("topic_id", sa.Integer(), nullable=True),
        sa.Column("topic_confidence", sa.Float(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("classified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("labelled_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id"),
    )
    with op.batch_alter_table("feedbackitem", schema=None) as batch_op:
        batch_op.create_index(
            "ix_feedback_department_created", ["department_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_feedback_unclassified", ["classified_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedbackitem_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "topicexample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic_id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topic.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("topic_id", "text"),
    )
    with op.batch_alter_table("topicexample", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_topicexample_topic_id"), ["topic_id"], unique=False)

    op.create_table(
        "complaintassignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("executive_id", sa.Integer(), nullable=False),
        sa.Column("month", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["executive_id"],
            ["executive.id"],
        ),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedbackitem.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaintassignment_executive_id"), ["executive_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaintassignment_feedback_id"), ["feedback_id"], unique=False
        )

    op.create_table(
        "topiccorrection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("from_topic_id", sa.Integer(), nullable=True),
        sa.Column("to_topic_id", sa.Integer(), nullable=False),
        sa.Column("corrected_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedbackitem.id"],
        ),
        sa.ForeignKeyConstraint(
            ["from_topic_id"],
            ["topic.id"],
        ),
        sa.ForeignKeyConstraint(
            ["to_topic_id"],
            ["topic.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("topiccorrection", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_topiccorrection_feedback_id"), ["feedback_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("topiccorrection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topiccorrection_feedback_id"))

    op.drop_table("topiccorrection")
    with op.batch_alter_table("complaintassignment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaintassignment_feedback_id"))
        batch_op.drop_index(batch_op.f("ix_complaintassignment_executive_id"))

    op.drop_table("complaintassignment")
    with op.batch_alter_table("topicexample", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topicexample_topic_id"))

    op.drop_table("topicexample")
    with op.batch_alter_table("feedbackitem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedbackitem_topic_id"))
        batch_op.drop_index("ix_feedback_unclassified")
        batch_op.drop_index("ix_feedback_department_created")

    op.drop_table("feedbackitem")
    with op.batch_alter_table("topic", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_topic_department_id"))

    op.drop_table("topic")
    op.drop_table("digestrun")
    op.drop_table("executive")
    op.drop_table("department")
