"""The monthly programme: each active executive is handed their quota of real complaints.

`assign_month` reads the unassigned complaints and what every executive received before,
lets `bot.assignment.assign` choose, stores the picks and tells each executive by direct
message. It runs once per month: a month that has its picks already is left alone.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from adapters.base import Outbound
from bot import executives
from bot.assignment import Candidate, Complaint, Past, assign
from bot.core import Upside
from bot.models import ComplaintAssignment, Department, Executive, FeedbackItem, Topic

log = logging.getLogger(__name__)
MONTHLY = "monthly"


async def assign_month(core: Upside, outbound: Outbound, month: str, today: date) -> int:
    """Assign `month`'s complaints (YYYY-MM) and DM the executives; returns how many."""
    with core.session() as session:
        done = session.exec(
            select(ComplaintAssignment.id).where(
                ComplaintAssignment.month == month, ComplaintAssignment.origin == MONTHLY
            )
        ).first()
        if done is not None:
            return 0
        bosses = session.exec(select(Executive).where(Executive.active)).all()
        candidates = [Candidate(b.id, b.quota, _away(b, today)) for b in bosses if b.id is not None]
        past = _past(session)
    pool = executives.queue(core, limit=10_000)
    departments = _departments(core, [c.id for c in pool])
    complaints = [Complaint(c.id, -c.score, c.topic, departments.get(c.id)) for c in pool]
    picks = assign(complaints, candidates, past)
    by_id = {c.id: c for c in pool}
    users = {b.id: b.user_id for b in bosses}
    stored = 0
    for feedback_id, executive_id in picks:
        if not _store(core, feedback_id, executive_id, month):
            continue  # claimed by someone in the meantime
        stored += 1
        complaint = by_id[feedback_id]
        try:
            await outbound.send_direct(users[executive_id], _message(complaint))
        except Exception:  # the assignment stands; they also see it in `mine` and App Home
            log.warning("could not DM executive %s", executive_id, exc_info=True)
    return stored


def _away(boss: Executive, today: date) -> bool:
    start, end = boss.out_of_office_from, boss.out_of_office_until
    return start is not None and start <= today <= (end or start)


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


def _store(core: Upside, feedback_id: int, executive_id: int, month: str) -> bool:
    try:
        with core.session() as session:
            session.add(
                ComplaintAssignment(
                    feedback_id=feedback_id,
                    executive_id=executive_id,
                    month=month,
                    origin=MONTHLY,
                )
            )
        return True
    except IntegrityError:
        return False


def _message(complaint: executives.ComplaintView) -> str:
    topic = f" about *{complaint.topic}*" if complaint.topic else ""
    source = f"\nSource: {complaint.link}" if complaint.link else ""
    return (
        f"A customer complaint for you to handle personally this month{topic} "
        f"(#{complaint.id}, sentiment {complaint.score:+.2f}):\n> {complaint.text[:1500]}"
        f"{source}\nWhen done: `/upside resolve {complaint.id} what you did` · "
        f"or hand it back: `/upside release {complaint.id}`"
    )
