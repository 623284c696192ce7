"""The month-end scoreboard: per executive, complaints assigned, resolved and how fast.

Leadership sees it in their channel on the month's last day (`bot.executives.followup`) and
admins any time with `upside execs scoreboard`. A released complaint counts as
assigned to whoever held it, so handing everything back does not flatter anyone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from statistics import median

from sqlmodel import select

from bot.core import Upside
from bot.executives.views import Standing, duration
from bot.messages import Mention, Message, Strong, bullets, para
from bot.models import ComplaintAssignment, Executive


def checked_month(value: str) -> str:
    """`value` if it is a month as YYYY-MM; otherwise ValueError says what is expected."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError(f"a month looks like 2026-12, not {value!r}")
    return value


def scoreboard(core: Upside, month: str) -> list[Standing]:
    """Every executive who was active or held a complaint in `month` (YYYY-MM), best first."""
    with core.session() as session:
        steps = session.exec(
            select(ComplaintAssignment).where(ComplaintAssignment.month == month)
        ).all()
        bosses = session.exec(select(Executive)).all()
    held: dict[int, list[ComplaintAssignment]] = defaultdict(list)
    for step in steps:
        held[step.executive_id].append(step)
    standings = []
    for boss in bosses:
        mine = held.get(boss.id or 0, [])
        if not mine and not boss.active:
            continue
        times = [s.resolved_at - s.assigned_at for s in mine if s.resolved_at is not None]
        standings.append(
            Standing(
                boss.name,
                boss.user_id,
                assigned=len(mine),
                resolved=sum(s.status == "resolved" for s in mine),
                released=sum(s.status == "released" for s in mine),
                median_to_resolve=median(times) if times else None,
            )
        )
    return sorted(
        standings,
        key=lambda s: (-s.resolved, s.median_to_resolve or timedelta.max, s.name),
    )


def scoreboard_message(month: str, standings: list[Standing]) -> Message:
    """The scoreboard as a chat message, people as mentions."""
    title = para(Strong(f"Executive complaints scoreboard, {month}"))
    if not standings:
        return Message.of(title, para("No executives took part."))
    lines = [
        (
            Mention(s.user_id, s.name),
            f": {s.resolved} of {s.assigned} resolved"
            + (f", median {duration(s.median_to_resolve)}" if s.median_to_resolve else "")
            + (f", {s.open} open" if s.open else "")
            + (f", {s.released} released" if s.released else ""),
        )
        for s in standings
    ]
    total = sum(s.assigned for s in standings)
    done = sum(s.resolved for s in standings)
    return Message.of(
        title,
        para(f"{done} of {total} complaints resolved personally by executives."),
        bullets(lines),
    )
