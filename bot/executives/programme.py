"""The monthly programme: each active executive is handed their quota of real complaints.

`assign_month` reads the unassigned complaints and what every executive received before,
lets `bot.assignment.assign` choose, stores the picks and tells each executive by direct
message. It runs once per month, in one transaction: a month that has its picks
already is left alone.
A complaint the programme gave out before is never given out again, even if it was
released; it stays in the queue for anyone to claim.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.core import Upside
from bot.db import insert_new
from bot.executives import complaints
from bot.executives.assignment import Candidate, Complaint, Past, assign
from bot.executives.complaints import MONTHLY
from bot.executives.followup import tell_assigned
from bot.executives.roster import away_on
from bot.models import (
    ComplaintAssignment,
    Department,
    Executive,
    FeedbackItem,
    Notice,
    Topic,
    utcnow,
)
from bot.ports import Outbound


async def assign_month(core: Upside, outbound: Outbound, month: str, today: date) -> int:
    """Assign `month`'s complaints (YYYY-MM) and DM the executives; returns how many."""
    with core.session() as session:
        given = set(
            session.exec(
                select(ComplaintAssignment.feedback_id).where(ComplaintAssignment.origin == MONTHLY)
            )
        )
        bosses = session.exec(select(Executive).where(Executive.active)).all()
        candidates = [
            Candidate(
                b.id,
                b.quota,
                away_on(b, today),
                frozenset(b.home_topics),
                frozenset(b.home_departments),
            )
            for b in bosses
            if b.id is not None
        ]
        past = _past(session)
    # never the same complaint twice: one handed back stays in the queue for a claim
    pool = [c for c in complaints.queue(core, limit=10_000) if c.id not in given]
    departments = _departments(core, [c.id for c in pool])
    picks = assign(
        [Complaint(c.id, -c.score, c.topic, departments.get(c.id)) for c in pool],
        candidates,
        past,
    )
    if not picks:  # no eligible executive or nothing waiting: the month stays open for later
        return 0
    stored = _store(core, month, picks)
    if stored is None:
        return 0
    await tell_assigned(core, outbound, utcnow())  # what fails here is retried every minute
    return stored


def _past(session: Session) -> Past:
    """Hardest-of-month counts, topics and load per executive from every earlier pick."""
    rows = session.exec(
        select(
            ComplaintAssignment.executive_id,
            ComplaintAssignment.month,
            FeedbackItem.sentiment_score,
            Topic.name,
        )
        .join(FeedbackItem, FeedbackItem.id == ComplaintAssignment.feedback_id)
        .join(Topic, Topic.id == FeedbackItem.topic_id, isouter=True)
        .where(ComplaintAssignment.origin == MONTHLY)
        .order_by(ComplaintAssignment.month)
    ).all()
    topics: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    load: dict[int, float] = defaultdict(float)
    worst: dict[str, tuple[float, int]] = {}
    for executive_id, month, score, topic in rows:
        severity = -(score or 0.0)
        load[executive_id] += severity
        if topic:
            topics[executive_id][topic] += 1
        if month not in worst or severity > worst[month][0]:
            worst[month] = (severity, executive_id)
    hardest: dict[int, int] = defaultdict(int)
    for _, executive_id in worst.values():
        hardest[executive_id] += 1
    last = worst[max(worst)][1] if worst else None
    return Past(dict(hardest), {k: dict(v) for k, v in topics.items()}, dict(load), last)


def _departments(core: Upside, ids: list[int]) -> dict[int, str]:
    with core.session() as session:
        rows = session.exec(
            select(FeedbackItem.id, Department.name)
            .join(Department, Department.id == FeedbackItem.department_id)
            .where(FeedbackItem.id.in_(ids))
        ).all()
    return dict(rows)


def _store(core: Upside, month: str, picks: list[tuple[int, int]]) -> int | None:
    """Record the month's picks in one transaction; None when the month was assigned already.

    The month's unique `Notice` row is written first, so of two processes assigning
    the same month one waits and then finds it taken. A complaint claimed since the
    picks were made is skipped (its savepoint rolls back), the rest stand.
    """
    stored = 0
    with core.session() as session:
        if insert_new(session, Notice, ["kind", "key"], kind="assignment", key=month) is None:
            return None
        for feedback_id, executive_id in picks:
            try:
                with session.begin_nested():
                    session.add(
                        ComplaintAssignment(
                            feedback_id=feedback_id,
                            executive_id=executive_id,
                            month=month,
                            origin=MONTHLY,
                        )
                    )
                stored += 1
            except IntegrityError:
                continue
        session.execute(
            update(Notice)
            .where(Notice.kind == "assignment", Notice.key == month)
            .values(status="sent", sent_at=utcnow())
        )
    return stored
