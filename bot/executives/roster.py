"""The executives' roster: who takes part, their monthly quota, home topics and absences.

Admins change it with `/upside execs ...` or `upside execs ...`; both call these
functions. Removing an executive deactivates them and hands their open complaints
back to the queue: their history stays.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import Session, select

from bot.core import Upside
from bot.executives.complaints import ProgrammeError, active_executive
from bot.models import ComplaintAssignment, Department, Executive, Topic, utcnow
from bot.ports import Address


def roster(core: Upside) -> list[Executive]:
    """Active executives by name."""
    with core.session() as session:
        return list(
            session.exec(select(Executive).where(Executive.active).order_by(Executive.name))
        )


def away_on(boss: Executive, day: date) -> bool:
    """Whether the executive is out of office on `day` (a one-day absence has no end)."""
    start, end = boss.out_of_office_from, boss.out_of_office_until
    return start is not None and start <= day <= (end or start)


def enrol(
    core: Upside,
    person: Address,
    name: str | None = None,
    quota: int | None = None,
    topics: list[str] | None = None,
    departments: list[str] | None = None,
) -> Executive:
    """Add an executive, or change one (also bringing a removed one back).

    Home topics and departments are preferred in the monthly assignment, not exclusive;
    unknown names are refused so that a typo does not silently do nothing.
    """
    if quota is not None and quota < 0:
        raise ValueError("the quota is a number of complaints a month, 0 or more")
    with core.session() as session:
        _known(session, Topic, topics or [])
        _known(session, Department, departments or [])
        if not person.id.strip():
            raise ValueError("name the executive: a person's chat id")
        boss = session.exec(
            select(Executive).where(
                Executive.platform == person.platform, Executive.user_id == person.id
            )
        ).first()
        boss = boss or Executive(
            platform=person.platform, user_id=person.id, name=name or person.id
        )
        boss.name = name or boss.name
        boss.workspace = person.workspace or boss.workspace
        boss.quota = boss.quota if quota is None else quota
        boss.home_topics = boss.home_topics if topics is None else topics
        boss.home_departments = boss.home_departments if departments is None else departments
        boss.active = True
        session.add(boss)
        session.flush()
        session.refresh(boss)
        return boss


def set_away(core: Upside, person: Address, start: date | None, end: date | None) -> Executive:
    """Mark an executive out of office from `start` to `end` inclusive; None, None: back."""
    if start is not None and end is not None and end < start:
        raise ValueError(f"the absence ends ({end}) before it starts ({start})")
    with core.session() as session:
        boss = _find(session, person)
        boss.out_of_office_from, boss.out_of_office_until = start, end
        session.add(boss)
        session.flush()
        session.refresh(boss)
        return boss


def retire(core: Upside, person: Address) -> int:
    """Take an executive off the programme; returns how many open complaints went back to
    the queue. Their resolved complaints and every step's record stay."""
    with core.session() as session:
        boss = _find(session, person)
        boss.active = False
        session.add(boss)
        handed_back = session.execute(
            update(ComplaintAssignment)
            .where(
                ComplaintAssignment.executive_id == boss.id,
                ComplaintAssignment.status == "assigned",
            )
            .values(status="released", released_at=utcnow())
        )
        return handed_back.rowcount


def _find(session: Session, person: Address) -> Executive:
    boss = active_executive(session, person)
    if boss is None:
        raise ProgrammeError(f"{person.id} is not an executive.")
    return boss


def _known(session: Session, model: type[Topic] | type[Department], names: list[str]) -> None:
    found = set(session.exec(select(model.name).where(model.name.in_(names))))
    missing = [n for n in names if n not in found]
    if missing:
        kind = model.__name__.lower()
        raise LookupError(f"no {kind} called {', '.join(missing)}")
