"""Following complaints up: the assignment DMs, 7-day reminders, a weekly nudge and the
month-end scoreboard.

`follow_up` runs every minute in the scheduling process and sends whatever is due and
not yet sent. Each message is a `Notice` with a unique (kind, key), so it goes out
once however many processes or rounds see it; one that failed goes out next round.

- ``assigned``: each monthly assignment, by DM with its buttons (sent by the monthly
  job as soon as it has assigned; here again if that failed).
- ``reminder``: each complaint still open 7 days after it was assigned, by DM, once.
- ``nudge``: on Mondays at 09:00 UTC, each executive holding open complaints gets
  their list.
- ``scoreboard``: on the last day of the month at 17:00 UTC (or within the week after,
  if Upside was down), the month's scoreboard goes to ``UPSIDE_LEADERSHIP_CHANNEL``.

Nobody out of office is reminded or nudged; it waits until they are back. Nobody is
chased about a complaint whose source was deleted. A failed message is tried again
after 1, 2, 4 … minutes, then every hour.
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import select

from bot.core import Upside
from bot.cron import LOOK_BACK, last_fire
from bot.digests.delivery import DeliveryError, send_once
from bot.executives import complaints
from bot.executives.roster import away_on
from bot.executives.scoreboard import scoreboard
from bot.messages import Code, Message, bullets, para
from bot.models import ComplaintAssignment, Executive, FeedbackItem, Notice, utcnow
from bot.ports import Outbound, Posted

log = logging.getLogger(__name__)
REMIND_AFTER = timedelta(days=7)
NUDGE = CronTrigger(day_of_week="mon", hour=9, timezone=UTC)
MONTH_END = CronTrigger(day="last", hour=17, timezone=UTC)
SCOREBOARD_GRACE = timedelta(days=7)  # after downtime, a scoreboard this late is still posted
ASSIGNED_INTRO = "A customer complaint for you to handle personally this month."

Due = tuple[str, str, Callable[[], Awaitable[Posted]]]  # kind, key, how to send it


async def follow_up(core: Upside, outbound: Outbound, now: datetime) -> int:
    """Send every follow-up due by `now` and not sent yet; returns how many went out."""
    held = await to_thread(_open_assignments, core)
    due = [
        *_assigned(core, outbound, held, now),
        *_reminders(core, outbound, held, now),
        *_nudges(core, outbound, held, now),
        *_scoreboard(core, outbound, now),
    ]
    return await _send(core, due)


async def tell_assigned(core: Upside, outbound: Outbound, now: datetime) -> int:
    """DM every recent monthly assignment its executive has not been told of yet."""
    held = await to_thread(_open_assignments, core)
    return await _send(core, _assigned(core, outbound, held, now))


async def _send(core: Upside, due: list[Due]) -> int:
    sent = 0
    for kind, key, send in await to_thread(_unsent, core, due):
        try:
            sent += await send_once(core, kind, key, send)
        except DeliveryError as exc:
            log.warning("%s; it will be retried", exc)
    return sent


Held = list[tuple[ComplaintAssignment, Executive]]


def _open_assignments(core: Upside) -> Held:
    """Every open assignment of a live complaint with its executive, oldest first."""
    with core.session() as session:
        return list(
            session.exec(
                select(ComplaintAssignment, Executive)
                .join(Executive, Executive.id == ComplaintAssignment.executive_id)
                .join(FeedbackItem, FeedbackItem.id == ComplaintAssignment.feedback_id)
                .where(
                    ComplaintAssignment.status == "assigned",
                    Executive.active,
                    FeedbackItem.deleted_at.is_(None),
                )
                .order_by(ComplaintAssignment.assigned_at, ComplaintAssignment.id)
            ).all()
        )


def _assigned(core: Upside, outbound: Outbound, held: Held, now: datetime) -> list[Due]:
    return [
        ("assigned", str(step.id), _complaint_dm(core, outbound, step, boss, ASSIGNED_INTRO))
        for step, boss in held
        if step.origin == complaints.MONTHLY and step.assigned_at >= now - LOOK_BACK
    ]


def _reminders(core: Upside, outbound: Outbound, held: Held, now: datetime) -> list[Due]:
    return [
        (
            "reminder",
            str(step.id),
            _complaint_dm(
                core,
                outbound,
                step,
                boss,
                f"Still open after {(now - step.assigned_at).days} days: "
                "this customer is waiting on you.",
            ),
        )
        for step, boss in held
        if step.assigned_at <= now - REMIND_AFTER and not away_on(boss, now.date())
    ]


def _nudges(core: Upside, outbound: Outbound, held: Held, now: datetime) -> list[Due]:
    fire = last_fire(NUDGE, now)
    if fire is None:
        return []
    week = fire.strftime("%G-W%V")
    waiting: dict[int, list[ComplaintAssignment]] = defaultdict(list)
    bosses: dict[int, Executive] = {}
    for step, boss in held:
        if step.assigned_at < fire and boss.id is not None and not away_on(boss, now.date()):
            waiting[boss.id].append(step)
            bosses[boss.id] = boss
    return [
        (
            "nudge",
            f"{week}:{boss_id}",
            partial(outbound.send_direct, bosses[boss_id].address, _nudge_message(steps, now)),
        )
        for boss_id, steps in waiting.items()
    ]


def _scoreboard(core: Upside, outbound: Outbound, now: datetime) -> list[Due]:
    channel = core.settings.leadership
    fire = last_fire(MONTH_END, now)
    if not channel or fire is None or now - fire > SCOREBOARD_GRACE:
        return []
    month = fire.strftime("%Y-%m")

    async def post() -> Posted:
        standings = await to_thread(scoreboard, core, month)  # read when sent: up to date
        return await outbound.post_scoreboard(channel, month, standings)

    return [("scoreboard", month, post)]


def _unsent(core: Upside, due: list[Due]) -> list[Due]:
    """Leave out what was sent already and what failed too recently to try again."""
    now = utcnow()  # attempts are timed by the clock, whatever moment `follow_up` is asked about
    if not due:
        return []
    with core.session() as session:
        rows = session.exec(
            select(
                Notice.kind, Notice.key, Notice.status, Notice.attempts, Notice.started_at
            ).where(Notice.key.in_({key for _, key, _ in due}))
        ).all()
    wait = {
        (kind, key)
        for kind, key, status, attempts, started in rows
        if status == "sent"
        or (status == "failed" and started and now < started + _backoff(attempts))
    }
    return [d for d in due if (d[0], d[1]) not in wait]


def _backoff(attempts: int) -> timedelta:
    """How long a notice that failed `attempts` times waits before the next try."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), timedelta(hours=1))


def _complaint_dm(
    core: Upside, outbound: Outbound, step: ComplaintAssignment, boss: Executive, intro: str
) -> Callable[[], Awaitable[Posted]]:
    async def send() -> Posted:
        view = await to_thread(complaints.complaint, core, step.feedback_id, boss.id)
        return await outbound.send_complaint(boss.address, view, intro)

    return send


def _nudge_message(steps: list[ComplaintAssignment], now: datetime) -> Message:
    count = f"{len(steps)} complaint{'s' if len(steps) != 1 else ''}"
    return Message.of(
        para(f"Your weekly Upside nudge: {count} still waiting for you."),
        bullets([f"#{s.feedback_id}, {(now - s.assigned_at).days} days with you" for s in steps]),
        para(Code("mine"), " shows them; ", Code("resolve ID NOTE"), " closes one."),
    )
