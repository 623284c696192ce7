"""Complaints, and executives claiming, resolving and releasing them.

A complaint is a negative item at least `UPSIDE_COMPLAINT_SEVERITY` strong. Every step
is a timestamped `ComplaintAssignment` row; releasing keeps the row. A partial unique
index lets one live assignment exist per complaint, so of two executives claiming the
same complaint at the same moment exactly one wins. Claiming a complaint the monthly
assignment gave you accepts it (``claimed_at``).
"""

from __future__ import annotations

import logging

from sqlalchemy import exists
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.core import RoleRequired, Upside
from bot.executives.views import ComplaintView
from bot.messages import Message, para
from bot.models import ComplaintAssignment, Executive, FeedbackItem, Reveal, Topic, utcnow
from bot.ports import Address, Outbound
from classifiers import SURE_CONFIDENCE

log = logging.getLogger(__name__)

LIVE = ("assigned", "resolved")
MONTHLY = "monthly"  # the origin of an assignment made by the monthly programme


class ProgrammeError(LookupError):
    """A request the programme cannot honour; the message says why, for the person."""


def _is_complaint(core: Upside, item: FeedbackItem) -> bool:
    """Surely and negative enough to count as a complaint (the rule `_complaints` puts in SQL).

    A label from before confidences existed (None) counts as it did then.
    """
    score = item.sentiment_score or 0.0
    sure = item.sentiment_confidence is None or item.sentiment_confidence >= SURE_CONFIDENCE
    return (
        item.sentiment == "negative"
        and score <= -core.settings.complaint_severity
        and item.readable
        and sure
    )


def _complaints(core: Upside):
    live = exists().where(
        ComplaintAssignment.feedback_id == FeedbackItem.id,
        ComplaintAssignment.status.in_(LIVE),
    )
    sure = FeedbackItem.sentiment_confidence.is_(None) | (
        FeedbackItem.sentiment_confidence >= SURE_CONFIDENCE
    )
    return (
        FeedbackItem.sentiment == "negative",
        FeedbackItem.sentiment_score <= -core.settings.complaint_severity,
        FeedbackItem.readable,
        sure,
        FeedbackItem.deleted_at.is_(None),
        ~live,
    )


def queue(core: Upside, limit: int = 10) -> list[ComplaintView]:
    """Unassigned complaints, worst first."""
    with core.session() as session:
        rows = session.exec(
            select(FeedbackItem, Topic.name)
            .join(Topic, Topic.id == FeedbackItem.topic_id, isouter=True)
            .where(*_complaints(core))
            .order_by(FeedbackItem.sentiment_score, FeedbackItem.id)
            .limit(limit)
        ).all()
    return [_view(item, topic) for item, topic in rows]


def active_executive(session: Session, person: Address) -> Executive | None:
    """The active executive behind a chat user, if they are one."""
    return session.exec(
        select(Executive).where(
            Executive.platform == person.platform,
            Executive.user_id == person.id,
            Executive.active,
        )
    ).first()


def executive(session: Session, person: Address) -> Executive:
    """The active executive behind a chat user; RoleRequired when they are none."""
    found = active_executive(session, person)
    if found is None:
        raise RoleRequired("executive")
    return found


def is_executive(core: Upside, person: Address) -> None:
    """Raise PermissionError unless `person` is an active executive."""
    with core.session() as session:
        executive(session, person)


def claim(core: Upside, person: Address, feedback_id: int | None = None) -> ComplaintView:
    """Take a complaint: the one given, or the worst unassigned one."""
    with core.session() as session:
        boss = executive(session, person)
        if feedback_id is None:
            worst = queue(core, limit=1)
            if not worst:
                raise ProgrammeError("No unassigned complaints right now.")
            feedback_id = worst[0].id
        item = session.get(FeedbackItem, feedback_id)
        if item is None or item.deleted_at is not None or not _is_complaint(core, item):
            raise ProgrammeError(f"No complaint #{feedback_id}: `queue` lists them.")
        given = _live(session, feedback_id, boss.id)
        if given is not None and given.status == "resolved":
            raise ProgrammeError(f"You resolved complaint #{feedback_id} already.")
        if given is not None:  # the monthly assignment gave it: claiming accepts it
            given.claimed_at = given.claimed_at or utcnow()
            session.add(given)
            return _view(item, _topic(session, item), "claimed")
        now = utcnow()
        session.add(
            ComplaintAssignment(
                feedback_id=feedback_id,
                executive_id=boss.id,
                month=now.strftime("%Y-%m"),
                claimed_at=now,
            )
        )
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            holder = _holder(core, feedback_id)
            raise ProgrammeError(
                f"Complaint #{feedback_id} is already taken by {holder}."
            ) from None
        return _view(item, _topic(session, item), "claimed")


def mine(core: Upside, person: Address) -> list[ComplaintView]:
    """The executive's open complaints, oldest first."""
    with core.session() as session:
        boss = executive(session, person)
        assert boss.id is not None
    return open_complaints(core, boss.id)


def open_complaints(core: Upside, executive_id: int) -> list[ComplaintView]:
    """An executive's open (assigned or claimed) complaints, oldest first."""
    with core.session() as session:
        rows = session.exec(
            select(FeedbackItem, Topic.name, ComplaintAssignment)
            .join(ComplaintAssignment, ComplaintAssignment.feedback_id == FeedbackItem.id)
            .join(Topic, Topic.id == FeedbackItem.topic_id, isouter=True)
            .where(
                ComplaintAssignment.executive_id == executive_id,
                ComplaintAssignment.status == "assigned",
            )
            .order_by(ComplaintAssignment.assigned_at, ComplaintAssignment.id)
        ).all()
    return [_view(item, topic, _state(held)) for item, topic, held in rows]


def complaint(core: Upside, feedback_id: int, executive_id: int | None = None) -> ComplaintView:
    """One complaint with its status as `executive_id` sees it (open unless they hold it)."""
    with core.session() as session:
        item = session.get(FeedbackItem, feedback_id)
        if item is None:
            raise ProgrammeError(f"No complaint #{feedback_id}.")
        held = _live(session, feedback_id, executive_id) if executive_id else None
        return _view(item, _topic(session, item), _state(held))


def _state(held: ComplaintAssignment | None) -> str:
    """A complaint's status as its holder sees it (see `ComplaintView`)."""
    if held is None:
        return "open"
    if held.status == "resolved":
        return "resolved"
    return "claimed" if held.claimed_at else "assigned"


def resolve(core: Upside, person: Address, feedback_id: int, note: str) -> ComplaintView:
    """Close the executive's complaint with a note of what was done."""
    if not note.strip():
        raise ProgrammeError("Say what was done: `resolve ID NOTE`.")
    with core.session() as session:
        assignment = _own(session, person, feedback_id)
        assignment.status, assignment.note, assignment.resolved_at = "resolved", note, utcnow()
        session.add(assignment)
        item = session.get(FeedbackItem, feedback_id)
        assert item is not None
        return _view(item, _topic(session, item), "resolved")


async def answer(outbound: Outbound, complaint: ComplaintView, note: str) -> bool:
    """Post a resolved complaint's note in its source thread; True when it was posted.

    Where the complaint came from a chat message the customer hears back there. When
    that fails (not a chat message, or the platform is away) the note stays recorded.
    """
    if not complaint.link:
        return False
    try:
        reply = Message.of(para("Resolved: ", note))
        await outbound.reply_in_thread(complaint.source, complaint.link, reply)
    except Exception:
        log.warning("could not answer the source thread of #%s", complaint.id, exc_info=True)
        return False
    return True


def release(core: Upside, person: Address, feedback_id: int) -> None:
    """Hand a complaint back to the queue; the record of having held it stays."""
    with core.session() as session:
        assignment = _own(session, person, feedback_id)
        assignment.status, assignment.released_at = "released", utcnow()
        session.add(assignment)


def holding(core: Upside, person: Address, feedback_id: int) -> None:
    """Raise unless the complaint is open in this executive's name (a form checks first)."""
    with core.session() as session:
        _own(session, person, feedback_id)


def reveal(core: Upside, person: Address, feedback_id: int) -> str:
    """The words of a complaint as received, contact details and all, for the one holding it.

    Only the executive it is open in the name of (assigned or claimed) sees them; every
    look is recorded with who and when. Anyone else, and the holder once it is resolved or
    released, is refused with a PermissionError that says so; nothing is recorded then.
    """
    with core.session() as session:
        try:
            held = _own(session, person, feedback_id)
        except ProgrammeError:
            raise PermissionError(
                f"only the executive holding complaint #{feedback_id} sees the customer's "
                "own words and contact details"
            ) from None
        item = session.get(FeedbackItem, feedback_id)
        assert item is not None
        if item.deleted_at is not None:
            raise ProgrammeError(f"Complaint #{feedback_id} was deleted where it was posted.")
        session.add(
            Reveal(
                feedback_id=feedback_id,
                executive_id=held.executive_id,
                platform=person.platform,
            )
        )
        return item.text


def _own(session: Session, person: Address, feedback_id: int) -> ComplaintAssignment:
    boss = executive(session, person)
    assignment = session.exec(
        select(ComplaintAssignment).where(
            ComplaintAssignment.feedback_id == feedback_id,
            ComplaintAssignment.executive_id == boss.id,
            ComplaintAssignment.status == "assigned",
        )
    ).first()
    if assignment is None:
        raise ProgrammeError(f"Complaint #{feedback_id} is not open in your name.")
    return assignment


def _live(
    session: Session, feedback_id: int, executive_id: int | None
) -> ComplaintAssignment | None:
    """The executive's live (assigned or resolved) assignment of the complaint, if any."""
    return session.exec(
        select(ComplaintAssignment).where(
            ComplaintAssignment.feedback_id == feedback_id,
            ComplaintAssignment.executive_id == executive_id,
            ComplaintAssignment.status.in_(LIVE),
        )
    ).first()


def _topic(session: Session, item: FeedbackItem) -> str | None:
    topic = session.get(Topic, item.topic_id) if item.topic_id else None
    return topic.name if topic else None


def _holder(core: Upside, feedback_id: int) -> str:
    with core.session() as session:
        name = session.exec(
            select(Executive.name)
            .join(ComplaintAssignment, ComplaintAssignment.executive_id == Executive.id)
            .where(
                ComplaintAssignment.feedback_id == feedback_id,
                ComplaintAssignment.status.in_(LIVE),
            )
        ).first()
    return name or "another executive"


def _view(item: FeedbackItem, topic: str | None, status: str = "open") -> ComplaintView:
    assert item.id is not None
    return ComplaintView(
        item.id,
        item.display_text,
        item.sentiment_score or 0.0,
        topic,
        item.link,
        status,
        item.source,
    )
