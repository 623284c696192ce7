"""The database tables. Changing one means writing an Alembic migration beside it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Dialect,
    Index,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from bot.ports import Address


def utcnow() -> datetime:
    """Timezone-aware now; every stored time is UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, also on SQLite, which keeps no zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when(nullable: bool = False) -> Column:
    """A UTC timestamp column."""
    return Column(UTCDateTime(), nullable=nullable)


def _names() -> Column:
    """A list of names (topics, departments), stored as JSON."""
    return Column(JSON, nullable=False, server_default="[]")


class Department(SQLModel, table=True):
    """A team that receives the feedback of its topics in its own channel."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    channel: str = Field(default="", max_length=200)
    timezone: str = Field(default="UTC", max_length=64)
    digest_time: str = Field(default="09:00", max_length=5)
    work_days: str = Field(default="mon-fri", max_length=64)
    holidays: str = Field(
        default="", max_length=2000
    )  # ISO dates without a digest, comma-separated
    quiet: str = Field(default="line", max_length=10)  # a period without feedback: line | skip
    platform: str = Field(default="slack", max_length=20)  # where its channel is: slack | teams
    workspace: str = Field(default="", max_length=64)  # Slack team or Teams tenant, if several
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())

    @property
    def address(self) -> Address:
        """Its channel: where its digests and alerts go."""
        return Address(self.platform, self.channel, self.workspace)


class Topic(SQLModel, table=True):
    """An admin-defined subject of feedback, owned by one department."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    description: str = Field(default="", max_length=500)
    department_id: int | None = Field(default=None, foreign_key="department.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class TopicExample(SQLModel, table=True):
    """A phrase that belongs to a topic: written by an admin or learnt from a correction."""

    __table_args__ = (UniqueConstraint("topic_id", "text"),)

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    text: str = Field(max_length=1000)
    origin: str = Field(default="admin", max_length=20)  # admin | correction
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class FeedbackItem(SQLModel, table=True):
    """One piece of customer feedback, as received and as classified."""

    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_feedback_department_created", "department_id", "created_at"),
        Index("ix_feedback_unclassified", "classified_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=200)
    channel: str = Field(default="", max_length=200)
    author: str = Field(default="", max_length=200)
    text: str  # as received; never shown to employees
    display_text: str  # personal data redacted; what employees see
    link: str = Field(default="", max_length=1000)
    created_at: datetime = Field(sa_column=_when())
    received_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    sentiment: str | None = Field(default=None, max_length=10)
    sentiment_score: float | None = None
    sentiment_confidence: float | None = None  # calibrated; None: labelled before it existed
    language: str = Field(default="und", max_length=16)  # ISO 639-1; "und": too short to tell
    readable: bool = True  # the model reads the language; if not, the sentiment is no label
    topic_id: int | None = Field(default=None, foreign_key="topic.id", index=True)
    topic_confidence: float | None = None
    department_id: int | None = Field(default=None, foreign_key="department.id")
    model_version: str | None = Field(default=None, max_length=100)
    classified_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    labelled_by: str | None = Field(default=None, max_length=200)  # a person set the topic
    deleted_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    # a worker's claim on the item while it classifies it; an expired claim is free again
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    # failed classifications; after a few the item is set aside with the last error
    classify_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    classify_error: str | None = Field(default=None, max_length=500)


class TopicCorrection(SQLModel, table=True):
    """A person's statement that an item belongs to another topic."""

    id: int | None = Field(default=None, primary_key=True)
    feedback_id: int = Field(foreign_key="feedbackitem.id", index=True)
    from_topic_id: int | None = Field(default=None, foreign_key="topic.id")
    to_topic_id: int = Field(foreign_key="topic.id")
    corrected_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Executive(SQLModel, table=True):
    """A senior person who handles a quota of complaints personally each month."""

    __table_args__ = (UniqueConstraint("platform", "user_id", name="uq_executive_platform_user"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    platform: str = Field(default="slack", max_length=20)  # slack | teams
    user_id: str = Field(max_length=200)  # Slack user id or Teams Entra object id
    workspace: str = Field(default="", max_length=64)  # Slack team or Teams tenant
    quota: int = Field(default=3, ge=0)
    active: bool = True
    out_of_office_from: date | None = None
    out_of_office_until: date | None = None
    home_topics: list[str] = Field(default_factory=list, sa_column=_names())
    home_departments: list[str] = Field(default_factory=list, sa_column=_names())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())

    @property
    def address(self) -> Address:
        """Where to reach them."""
        return Address(self.platform, self.user_id, self.workspace)


class ComplaintAssignment(SQLModel, table=True):
    """A complaint handed to an executive, with every step's time; never deleted.

    At most one assignment of a complaint is live (assigned or resolved): a partial
    unique index decides when two executives claim it at the same moment.
    """

    __table_args__ = (
        Index(
            "ux_complaint_live",
            "feedback_id",
            unique=True,
            sqlite_where=text("status != 'released'"),
            postgresql_where=text("status != 'released'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    feedback_id: int = Field(foreign_key="feedbackitem.id", index=True)
    executive_id: int = Field(foreign_key="executive.id", index=True)
    month: str = Field(max_length=7)  # YYYY-MM
    status: str = Field(default="assigned", max_length=20)  # assigned|resolved|released
    origin: str = Field(default="claim", max_length=20)  # claim | monthly
    note: str = ""
    assigned_at: datetime = Field(default_factory=utcnow, sa_column=_when())
    claimed_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))
    released_at: datetime | None = Field(default=None, sa_column=_when(nullable=True))


class Delivery(SQLModel):
    """What every message sent exactly once records: its state, attempts and times.

    ``bot.digests.delivery`` moves the state: pending → sending → sent, or failed (for now:
    taken again later) or held (refused for good: waits until an admin acts); a digest for
    a quiet period may end as skipped, and one that a later digest covers as superseded.
    """

    # pending | sending | sent | skipped | failed | held | superseded
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    error: str = ""
    message_ref: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)


class Notice(Delivery, table=True):
    """A step of the executive programme done at most once per (kind, key).

    Messages: ``assigned`` and ``reminder`` (key: the assignment id), ``nudge`` (key: ISO
    week and executive id) and ``scoreboard`` (key: the month); like a `DigestRun`, a
    failed send is recorded and retried, never marked as sent. ``assignment`` (key: the
    month) records that the month's complaints were handed out.
    """

    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    key: str = Field(max_length=100)


class DigestRun(Delivery, table=True):
    """One department's digest for one period; the unique key makes a double post impossible."""

    __table_args__ = (UniqueConstraint("department_id", "period_end"),)

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="department.id")
    period_start: datetime = Field(sa_column=_when())
    period_end: datetime = Field(sa_column=_when())


class WatchedChannel(SQLModel, table=True):
    """A chat channel whose messages are customer feedback (support tools, review feeds)."""

    __table_args__ = (UniqueConstraint("platform", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)  # slack | teams
    channel_id: str = Field(max_length=200)
    added_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Conversation(SQLModel, table=True):
    """A conversation Upside can post in without being asked: what a platform needs to reach it.

    Teams lets a bot post only where it holds a conversation reference: saved when the
    bot is added, refreshed on every activity (the service URL can move), and marked
    inactive when the bot is removed or the platform answers that it is gone.
    """

    __table_args__ = (UniqueConstraint("platform", "conversation_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=64)  # the tenant
    conversation_id: str = Field(max_length=400)
    kind: str = Field(default="personal", max_length=20)  # personal | channel | groupChat
    user_id: str = Field(default="", max_length=200, index=True)  # a 1:1's person
    channel_id: str = Field(default="", max_length=400, index=True)  # a channel's own id
    name: str = Field(default="", max_length=200)
    reference: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    error: str = Field(default="", max_length=500)  # why it stopped working
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class ProcessedEvent(SQLModel, table=True):
    """A platform event already handled; its unique id turns a retry into a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(unique=True, max_length=200)
    received_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class SpikeAlert(SQLModel, table=True):
    """A topic's negative feedback ran far above its usual rate and its department was told."""

    id: int | None = Field(default=None, primary_key=True)
    topic_id: int = Field(foreign_key="topic.id", index=True)
    negative: int  # negative items in the window
    usual: float  # what the previous week predicted for a window that long
    window_end: datetime = Field(sa_column=_when())
    sent_at: datetime = Field(default_factory=utcnow, sa_column=_when())


class Attention(SQLModel, table=True):
    """A place Upside cannot post to until someone acts, and the platform's reason.

    ``place`` is a channel or person; empty, it is the app itself in ``workspace`` (empty:
    in every workspace), uninstalled or without a working token. Deliveries there are held
    until it is cleared: a new channel, a re-install, a new token or a successful post.
    """

    __table_args__ = (UniqueConstraint("platform", "workspace", "place"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    workspace: str = Field(default="", max_length=64)
    place: str = Field(default="", max_length=400)
    reason: str = Field(max_length=500)
    credential: str = Field(default="", max_length=64)  # a digest of the token refused
    since: datetime = Field(default_factory=utcnow, sa_column=_when())


class Reveal(SQLModel, table=True):
    """An executive saw the received words (with contact details) of a complaint they held.

    Employees see redacted words; the holder of a complaint may need to reach the customer,
    and every time they look, who and when is kept here.
    """

    id: int | None = Field(default=None, primary_key=True)
    feedback_id: int = Field(foreign_key="feedbackitem.id", index=True)
    executive_id: int = Field(foreign_key="executive.id", index=True)
    platform: str = Field(max_length=20)  # where they asked from: slack | teams | cli
    revealed_at: datetime = Field(default_factory=utcnow, sa_column=_when())
