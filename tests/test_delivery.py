"""A digest period is posted once, whoever asks and however often; every item of a department
appears in exactly one posted digest, whatever fails in between."""

from __future__ import annotations

import asyncio
import io
import itertools
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlmodel import select

from adapters.console import ConsoleOutbound
from bot.core import Upside
from bot.digests.attention import Watchful
from bot.digests.delivery import deliver, retry_failed
from bot.digests.digest import Digest
from bot.digests.holds import held, release
from bot.executives.views import ComplaintView, Standing
from bot.messages import Message
from bot.models import Department, DigestRun, FeedbackItem, utcnow
from bot.ports import Address, Outbound, Posted, Unreachable
from bot.scheduler import post_due_digest

MONDAY = datetime(2026, 11, 2, 9, tzinfo=UTC)  # a Monday, at the departments' digest time
DAY = timedelta(days=1)
T = TypeVar("T")


class Flaky(Outbound):
    """Posts digests, or fails the way it is told to: "ok", "transient" or "permanent"."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.posted: list[Digest] = []

    async def post_digest(self, channel: Address, digest: Digest) -> Posted:
        if self.mode == "transient":
            raise ConnectionError("Slack is away")
        if self.mode == "permanent":
            raise Unreachable("Slack says not_in_channel")
        self.posted.append(digest)
        return Posted(channel.id, str(len(self.posted)))

    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        raise NotImplementedError

    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        raise NotImplementedError

    async def send_direct(self, person: Address, message: Message) -> Posted:
        raise NotImplementedError

    async def send_complaint(self, person: Address, complaint: ComplaintView, intro: str) -> Posted:
        raise NotImplementedError

    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        raise NotImplementedError


def _department(core: Upside, days: int) -> Department:
    """A new department with a digest at 09:00 UTC every day, and an item every six hours."""
    with core.session() as session:
        department = Department(
            name=f"Scenario {uuid.uuid4().hex[:8]}", channel="C0SCENE", work_days="mon-sun"
        )
        session.add(department)
        session.flush()
        for hour in range(-48, 24 * (days + 1), 6):
            when = MONDAY + timedelta(hours=hour, minutes=30)
            session.add(
                FeedbackItem(
                    source="scenario",
                    external_id=f"{department.id}:{hour}",
                    text="My parcel is late",
                    display_text="My parcel is late",
                    created_at=when,
                    classified_at=when,
                    sentiment="negative",
                    sentiment_score=-0.8,
                    department_id=department.id,
                )
            )
        return department


def _items_between(core: Upside, department: Department, start: datetime, end: datetime) -> int:
    with core.session() as session:
        return len(
            session.exec(
                select(FeedbackItem.id).where(
                    FeedbackItem.department_id == department.id,
                    FeedbackItem.created_at >= start,
                    FeedbackItem.created_at < end,
                )
            ).all()
        )


def _runs(core: Upside, department: Department) -> list[DigestRun]:
    with core.session() as session:
        query = select(DigestRun).where(DigestRun.department_id == department.id)
        return list(session.exec(query.order_by(DigestRun.period_end)))


async def test_a_period_is_posted_once_even_when_asked_twice_at_once(core):
    screen = io.StringIO()
    outbound = ConsoleOutbound(Console(file=screen, width=100))
    department = core.department("Logistics")
    end = utcnow().replace(microsecond=0)
    start = end - timedelta(days=1)
    runs = await asyncio.gather(
        deliver(core, outbound, department, start, end),
        deliver(core, outbound, department, start, end),
    )
    again = await deliver(core, outbound, department, start, end)  # a restart's retry
    assert screen.getvalue().count("╭─ Logistics") == 1
    assert {run.id for run in [*runs, again]} == {runs[0].id}
    with core.session() as session:
        stored = session.exec(select(DigestRun)).one()
    assert stored.status == "sent" and stored.attempts == 1 and stored.sent_at
    assert await retry_failed(core, outbound) == 0


async def test_after_three_failed_days_one_retry_posts_the_whole_gap_once(sqlite_core):
    """The issue's case: Mon→Tue, Mon→Wed and Mon→Thu were all posted, Monday's items thrice."""
    department, outbound = _department(sqlite_core, 4), Flaky()
    await _at(MONDAY, post_due_digest(sqlite_core, outbound, department.id, MONDAY))
    outbound.mode = "transient"
    for day in (1, 2, 3):
        moment = MONDAY + day * DAY
        await _at(moment, post_due_digest(sqlite_core, outbound, department.id, moment))
    outbound.mode = "ok"
    assert await _at(MONDAY + 4 * DAY, retry_failed(sqlite_core, outbound)) == 1
    assert [(d.start, d.end) for d in outbound.posted[1:]] == [(MONDAY, MONDAY + 3 * DAY)]
    assert [r.status for r in _runs(sqlite_core, department)] == [
        "sent",
        "superseded",
        "superseded",
        "sent",
    ]
    assert await _at(MONDAY + 5 * DAY, retry_failed(sqlite_core, outbound)) == 0


async def test_a_failing_digest_is_retried_with_back_off(sqlite_core):
    department, outbound = _department(sqlite_core, 1), Flaky()
    outbound.mode = "transient"
    await _at(MONDAY, post_due_digest(sqlite_core, outbound, department.id, MONDAY))
    assert await _at(MONDAY, retry_failed(sqlite_core, outbound)) == 0  # the first retry: at once
    assert _runs(sqlite_core, department)[0].attempts == 2
    outbound.mode = "ok"
    assert await _at(MONDAY + timedelta(seconds=30), retry_failed(sqlite_core, outbound)) == 0
    assert await _at(MONDAY + timedelta(minutes=1), retry_failed(sqlite_core, outbound)) == 1


async def _at(moment: datetime, work: Awaitable[T]) -> T:
    """Do `work` with the clock stopped at `moment`."""
    with time_machine.travel(moment, tick=False):
        return await work


Step = tuple[str, int]  # what the platform does, and how many retry rounds follow


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["ok", "transient", "permanent", "fix"]), st.integers(0, 2)),
        min_size=1,
        max_size=10,
    )
)
def test_posted_digests_tile_time_whatever_fails(core, steps: list[Step]):
    """Random days of failures, fixes and retry rounds: the posted periods join up without
    overlap or gap, and every item is in exactly one posted digest."""
    asyncio.run(_scenario(core, steps))


async def _scenario(core: Upside, steps: list[Step]) -> None:
    department, flaky = _department(core, len(steps)), Flaky()
    outbound = Watchful(core, flaky)
    clock = MONDAY
    for day, (mode, retries) in enumerate(steps):
        if mode == "fix":  # an admin fixed the channel
            release(core, department.address)
        else:
            flaky.mode = mode
        clock = MONDAY + day * DAY
        await _at(clock, post_due_digest(core, outbound, department.id, clock))
        for round_ in range(retries):
            await _at(clock + timedelta(hours=1 + round_), retry_failed(core, outbound))
    flaky.mode = "ok"
    release(core, department.address)
    assert await _at(clock + timedelta(hours=12), retry_failed(core, outbound)) <= 1
    assert held(core, department.address) is None

    periods = [(d.start, d.end) for d in flaky.posted]
    assert periods, steps
    assert periods[0][0] == MONDAY - DAY and periods[-1][1] == clock  # from the first, to now
    assert all(before[1] == after[0] for before, after in itertools.pairwise(periods)), periods
    assert sum(d.volume for d in flaky.posted) == _items_between(
        core, department, periods[0][0], periods[-1][1]
    )
    assert {r.status for r in _runs(core, department)} <= {"sent", "superseded"}
