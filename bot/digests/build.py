"""A department's digest for a period, computed by SQL aggregation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Date, case, cast, func
from sqlmodel import Session, select

from bot.digests.digest import DayCount, Digest, Quote, Resolution, TopicCount
from bot.models import ComplaintAssignment, Department, Executive, FeedbackItem, Topic
from classifiers import SENTIMENTS, SURE_CONFIDENCE

QUOTES = 3  # most negative and most positive verbatims shown
CHART_DAYS = 14


def build_digest(
    session: Session, department: Department, start: datetime, end: datetime
) -> Digest:
    """Aggregate the department's classified items in [start, end) against the period before."""
    previous_start = start - (end - start)
    return Digest(
        department=department.name,
        start=start,
        end=end,
        sentiment=_sentiment_counts(session, department.id, start, end),
        previous_sentiment=_sentiment_counts(session, department.id, previous_start, start),
        topics=_topic_counts(session, department.id, start, end, previous_start),
        negative=_quotes(session, department.id, start, end, "negative"),
        positive=_quotes(session, department.id, start, end, "positive"),
        daily=_daily(session, department.id, end),
        open_complaints=_open_complaints(session, department.id),
        resolved=_resolved(session, department.id, start, end),
        other_languages=_other_languages(session, department.id, start, end),
        foreign=_foreign(session, department.id, start, end),
    )


def _open_complaints(session: Session, department_id: int | None) -> int:
    return session.exec(
        select(func.count())
        .select_from(ComplaintAssignment)
        .join(FeedbackItem, FeedbackItem.id == ComplaintAssignment.feedback_id)
        .where(
            FeedbackItem.department_id == department_id,
            ComplaintAssignment.status == "assigned",
        )
    ).one()


def _resolved(
    session: Session, department_id: int | None, start: datetime, end: datetime
) -> list[Resolution]:
    rows = session.exec(
        select(
            FeedbackItem.display_text, ComplaintAssignment.note, Executive.name, FeedbackItem.link
        )
        .join(FeedbackItem, FeedbackItem.id == ComplaintAssignment.feedback_id)
        .join(Executive, Executive.id == ComplaintAssignment.executive_id)
        .where(
            FeedbackItem.department_id == department_id,
            ComplaintAssignment.status == "resolved",
            ComplaintAssignment.resolved_at >= start,
            ComplaintAssignment.resolved_at < end,
        )
        .order_by(ComplaintAssignment.resolved_at)
    ).all()
    return [Resolution(*row) for row in rows]


def _daily(session: Session, department_id: int | None, end: datetime) -> list[DayCount]:
    """Sentiment per UTC day over the CHART_DAYS days up to `end`, zeros included."""
    first = (end - timedelta(days=CHART_DAYS - 1)).date()
    start = datetime.combine(first, time.min, tzinfo=UTC)
    column = FeedbackItem.created_at
    dialect = session.get_bind().dialect.name
    day = func.date(column) if dialect == "sqlite" else cast(func.timezone("UTC", column), Date)
    counts: dict[tuple[str, str], int] = {
        (str(when), sentiment): count
        for when, sentiment, count in session.exec(
            select(day, FeedbackItem.sentiment, func.count())
            .where(*_in_period(department_id, start, end))
            .group_by(day, FeedbackItem.sentiment)
        )
    }
    days = [first + timedelta(days=offset) for offset in range(CHART_DAYS)]
    return [DayCount(d, *(counts.get((d.isoformat(), s), 0) for s in SENTIMENTS)) for d in days]


def _in_period(
    department_id: int | None, start: datetime, end: datetime, readable: bool = True
) -> tuple:
    """Classified, live items of the period; by default those in a language the model reads."""
    return (
        FeedbackItem.department_id == department_id,
        FeedbackItem.created_at >= start,
        FeedbackItem.created_at < end,
        FeedbackItem.classified_at.is_not(None),
        FeedbackItem.deleted_at.is_(None),
        FeedbackItem.readable == readable,
    )


def _other_languages(
    session: Session, department_id: int | None, start: datetime, end: datetime
) -> int:
    query = select(func.count()).where(*_in_period(department_id, start, end, readable=False))
    return session.exec(query).one()


def _foreign(
    session: Session, department_id: int | None, start: datetime, end: datetime
) -> list[Quote]:
    """The latest items in other languages, shown as written: nobody should guess their mood."""
    rows = session.exec(
        select(FeedbackItem, Topic.name)
        .join(Topic, Topic.id == FeedbackItem.topic_id, isouter=True)
        .where(*_in_period(department_id, start, end, readable=False))
        .order_by(FeedbackItem.created_at.desc(), FeedbackItem.id)
        .limit(QUOTES)
    ).all()
    return [_quote(item, topic) for item, topic in rows]


def _sentiment_counts(
    session: Session, department_id: int | None, start: datetime, end: datetime
) -> dict[str, int]:
    rows = session.exec(
        select(FeedbackItem.sentiment, func.count())
        .where(*_in_period(department_id, start, end))
        .group_by(FeedbackItem.sentiment)
    ).all()
    counts = dict.fromkeys(SENTIMENTS, 0)
    counts.update({sentiment: count for sentiment, count in rows if sentiment})
    return counts


def _topic_counts(
    session: Session, department_id: int | None, start: datetime, end: datetime, before: datetime
) -> list[TopicCount]:
    current = func.sum(case((FeedbackItem.created_at >= start, 1), else_=0))
    rows = session.exec(
        select(Topic.name, current, func.count() - current)
        .join(Topic, Topic.id == FeedbackItem.topic_id)
        .where(*_in_period(department_id, before, end))
        .group_by(Topic.name)
        .order_by(current.desc(), Topic.name)
    ).all()
    return [TopicCount(name, int(now or 0), int(then or 0)) for name, now, then in rows if now]


def _quotes(
    session: Session, department_id: int | None, start: datetime, end: datetime, sentiment: str
) -> list[Quote]:
    score = FeedbackItem.sentiment_score
    order = score.asc() if sentiment == "negative" else score.desc()
    sure = FeedbackItem.sentiment_confidence.is_(None) | (  # None: labelled before confidence
        FeedbackItem.sentiment_confidence >= SURE_CONFIDENCE
    )
    rows = session.exec(
        select(FeedbackItem, Topic.name)
        .join(Topic, Topic.id == FeedbackItem.topic_id, isouter=True)
        .where(*_in_period(department_id, start, end), FeedbackItem.sentiment == sentiment, sure)
        .order_by(order, FeedbackItem.id)
        .limit(QUOTES)
    ).all()
    return [_quote(item, topic) for item, topic in rows]


def _quote(item: FeedbackItem, topic: str | None) -> Quote:
    assert item.id is not None
    return Quote(
        item.id, item.display_text, item.sentiment_score or 0.0, topic, item.source, item.link
    )


@dataclass(frozen=True, slots=True)
class DepartmentMood:
    """A department's sentiment counts over a recent period."""

    department: str
    negative: int
    neutral: int
    positive: int


def department_moods(session: Session, since: datetime) -> list[DepartmentMood]:
    """Every department's sentiment counts since `since`, in one grouped query."""
    counts = {
        (name, sentiment): count
        for name, sentiment, count in session.exec(
            select(Department.name, FeedbackItem.sentiment, func.count())
            .join(FeedbackItem, FeedbackItem.department_id == Department.id)
            .where(
                FeedbackItem.created_at >= since,
                FeedbackItem.classified_at.is_not(None),
                FeedbackItem.deleted_at.is_(None),
                FeedbackItem.readable,
            )
            .group_by(Department.name, FeedbackItem.sentiment)
        )
    }
    names = session.exec(select(Department.name).order_by(Department.name)).all()
    return [DepartmentMood(name, *(counts.get((name, s), 0) for s in SENTIMENTS)) for name in names]
