"""Digest scheduling: real cron triggers in each department's zone and week, holidays,
catch-up after downtime, and one poster among several processes."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlmodel import select

from adapters.console import ConsoleOutbound
from bot.core import Upside
from bot.models import Department, DigestRun
from bot.ports import InboundFeedback
from bot.scheduler import DigestScheduler, Leadership, post_due_digest, trigger_for
from tests.conftest import eventually, make_core, make_settings


def _department(core: Upside, name: str, **changes: str) -> Department:
    with core.session() as session:
        department = session.exec(select(Department).where(Department.name == name)).one()
        department.sqlmodel_update(changes)
        session.add(department)
        return department


def _fires(department: Department, after: datetime, count: int) -> list[datetime]:
    trigger, fires, moment = trigger_for(department), [], after
    for _ in range(count):
        moment = trigger.get_next_fire_time(fires[-1] if fires else None, moment)
        fires.append(moment)
        moment = moment + timedelta(seconds=1)
    return [f.astimezone(UTC) for f in fires]


def _screen() -> tuple[ConsoleOutbound, io.StringIO]:
    screen = io.StringIO()
    return ConsoleOutbound(Console(file=screen, width=100)), screen


def _runs(core: Upside) -> list[DigestRun]:
    with core.session() as session:
        return list(session.exec(select(DigestRun).order_by(DigestRun.period_end)))


def test_the_digest_follows_daylight_saving_time(sqlite_core):
    london = _department(sqlite_core, "Logistics", timezone="Europe/London", digest_time="09:00")
    fires = _fires(london, datetime(2026, 3, 26, 12, tzinfo=UTC), 3)
    assert fires == [
        datetime(2026, 3, 27, 9, tzinfo=UTC),  # Friday, GMT
        datetime(2026, 3, 30, 8, tzinfo=UTC),  # Monday, BST: still 09:00 in London
        datetime(2026, 3, 31, 8, tzinfo=UTC),
    ]


def test_a_sunday_to_thursday_week(sqlite_core):
    from bot.intake.topics import DepartmentConfig

    days = DepartmentConfig(name="x", work_days="sun-thu").work_days
    office = _department(
        sqlite_core, "Stores", timezone="Asia/Jerusalem", work_days=days, digest_time="09:00"
    )
    fires = _fires(office, datetime(2026, 11, 26, 12, tzinfo=UTC), 3)  # a Thursday afternoon
    assert [f.astimezone(office_zone(office)).strftime("%a %H:%M") for f in fires] == [
        "Sun 09:00",
        "Mon 09:00",
        "Tue 09:00",
    ]


def office_zone(department: Department):
    from zoneinfo import ZoneInfo

    return ZoneInfo(department.timezone)


async def test_downtime_is_caught_up_by_one_digest_covering_the_gap(core):
    department = _department(core, "Billing", timezone="UTC", digest_time="09:00")
    outbound, screen = _screen()
    monday = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert await post_due_digest(core, outbound, department.id, monday + timedelta(minutes=1))
    core.ingest([InboundFeedback("t", "1", "Charged twice!", created_at=monday + timedelta(1))])
    core.worker.run_pending()
    thursday = datetime(2026, 11, 26, 10, 30, tzinfo=UTC)  # down Tuesday and Wednesday
    assert await post_due_digest(core, outbound, department.id, thursday)
    assert not await post_due_digest(core, outbound, department.id, thursday)  # never twice
    runs = _runs(core)
    assert [(r.period_start, r.period_end, r.status) for r in runs[1:]] == [
        (monday, datetime(2026, 11, 26, 9, tzinfo=UTC), "sent")
    ]
    assert screen.getvalue().count("╭─ Billing") == 2
    assert "1 items" in screen.getvalue().split("╭─ Billing")[-1]


async def test_holidays_are_skipped_and_covered_by_the_next_digest(sqlite_core):
    department = _department(
        sqlite_core, "Stores", timezone="UTC", digest_time="09:00", holidays="2026-12-25"
    )
    outbound, _ = _screen()
    christmas_eve = datetime(2026, 12, 24, 9, 5, tzinfo=UTC)
    assert await post_due_digest(sqlite_core, outbound, department.id, christmas_eve)
    christmas = datetime(2026, 12, 25, 9, 5, tzinfo=UTC)
    assert not await post_due_digest(sqlite_core, outbound, department.id, christmas)
    boxing_day = datetime(2026, 12, 26, 9, 5, tzinfo=UTC)  # a Saturday: Stores works mon-sat
    assert await post_due_digest(sqlite_core, outbound, department.id, boxing_day)
    last = _runs(sqlite_core)[-1]
    assert last.period_start == datetime(2026, 12, 24, 9, tzinfo=UTC)
    assert last.period_end == datetime(2026, 12, 26, 9, tzinfo=UTC)


async def test_a_quiet_department_can_skip_its_digest(sqlite_core):
    department = _department(sqlite_core, "Product", timezone="UTC", quiet="skip")
    outbound, screen = _screen()
    assert await post_due_digest(
        sqlite_core, outbound, department.id, datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    )
    assert screen.getvalue() == "" and _runs(sqlite_core)[-1].status == "skipped"


async def test_two_processes_on_one_postgresql_database_post_once(postgres_url, classifier):
    first = make_core(postgres_url, classifier)
    second = Upside(make_settings(postgres_url), classifier=classifier)  # another process
    leader, follower = Leadership(first), Leadership(second)
    assert leader.acquire() and not follower.acquire()
    department = first.department("Logistics")
    outbound, screen = _screen()
    now = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    posted = await asyncio.gather(  # two threads, two event loops, two connection pools
        *(
            asyncio.to_thread(asyncio.run, post_due_digest(core, outbound, department.id, now))
            for core in (first, second)
        )
    )
    assert any(posted)
    assert screen.getvalue().count("╭─ Logistics") == 1
    assert len(_runs(first)) == 1
    leader.release()
    assert follower.acquire()  # the other process takes over when the leader goes
    follower.release()
    for core in (first, second):
        core.engine.dispose()


def test_processes_on_one_sqlite_file_schedule_one_at_a_time(sqlite_core, classifier):
    other = Upside(make_settings(str(sqlite_core.engine.url)), classifier=classifier)
    leader, follower = Leadership(sqlite_core), Leadership(other)  # `serve` and a `worker`
    assert leader.acquire() and leader.held()
    assert not follower.acquire() and not follower.held()
    leader.release()
    assert not leader.held()
    assert follower.acquire() and follower.held()  # the other takes over when the leader goes
    follower.release()
    other.engine.dispose()


@pytest.mark.asyncio(loop_scope="function")
async def test_the_scheduler_keeps_a_job_per_department(sqlite_core):
    outbound, _ = _screen()
    scheduler = DigestScheduler(sqlite_core, outbound)
    with time_machine.travel(datetime(2026, 11, 24, 12, tzinfo=UTC), tick=False):
        scheduler._ensure_started()
        scheduler.sync()
        jobs = {job.id: job for job in scheduler.scheduler.get_jobs()}
        assert len(jobs) == 8  # a digest per department and the monthly assignment
        monthly = jobs["monthly-assignment"].next_run_time.astimezone(UTC)
        assert monthly == datetime(2026, 12, 1, 8, tzinfo=UTC)  # a Tuesday, the first
        logistics = sqlite_core.department("Logistics")
        job = jobs[f"digest-{logistics.id}"]
        assert job.next_run_time.astimezone(UTC) == datetime(2026, 11, 25, 9, tzinfo=UTC)
        assert job.coalesce and job.misfire_grace_time == 24 * 3600
        _department(sqlite_core, "Logistics", digest_time="07:15")
        scheduler.sync()
        job = scheduler.scheduler.get_job(f"digest-{logistics.id}")
        assert job.next_run_time.astimezone(UTC) == datetime(2026, 11, 25, 7, 15, tzinfo=UTC)
    scheduler.scheduler.shutdown(wait=False)


@pytest.mark.asyncio(loop_scope="function")
async def test_the_real_trigger_fires_and_a_restart_catches_up_once(sqlite_core):
    outbound, screen = _screen()
    logistics = _department(sqlite_core, "Logistics", timezone="Europe/London", digest_time="09:00")
    import bot.scheduler as scheduling

    scheduling._runtime = scheduling.Runtime(sqlite_core, outbound)
    with time_machine.travel(datetime(2026, 11, 23, 8, 59, 58, tzinfo=UTC), tick=True):
        first = DigestScheduler(sqlite_core, outbound)
        first._ensure_started()
        first.sync()
        # APScheduler wakes at 09:00:00 London time and runs the job, which posts and records
        assert await eventually(lambda: [r.status for r in _runs(sqlite_core)] == ["sent"], 6)
        first.scheduler.shutdown(wait=False)  # the process goes away on Monday
    assert screen.getvalue().count("╭─ Logistics") == 1
    assert _runs(sqlite_core)[-1].period_end == datetime(2026, 11, 23, 9, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 11, 26, 11, tzinfo=UTC), tick=False):  # Thursday
        second = DigestScheduler(sqlite_core, outbound)
        assert await second.catch_up() == 1  # Logistics had digests: its gap, once
        assert await second.catch_up() == 0
    last = [r for r in _runs(sqlite_core) if r.department_id == logistics.id][-1]
    assert (last.period_start, last.period_end) == (
        datetime(2026, 11, 23, 9, tzinfo=UTC),
        datetime(2026, 11, 26, 9, tzinfo=UTC),
    )


def _kill(database_url: str, pid: int) -> None:
    """Kill another session's connection, as a database restart or a network cut would."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    engine.dispose()


async def _until(condition, seconds: float = 5.0) -> float:
    """How long `condition` took to hold; fails after `seconds`."""
    start = asyncio.get_running_loop().time()
    assert await eventually(condition, seconds)
    return asyncio.get_running_loop().time() - start


async def _stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_leader_whose_lock_is_lost_steps_down_and_a_standby_takes_over(
    postgres_url, classifier
):
    first = make_core(postgres_url, classifier)
    second = Upside(make_settings(postgres_url), classifier=classifier)
    outbound, _ = _screen()
    leader = DigestScheduler(first, outbound, check_every=0.5)
    standby = DigestScheduler(second, outbound, check_every=0.05)  # bids first once it is free
    leading = asyncio.create_task(leader.run())
    await _until(lambda: leader.leading)
    waiting = asyncio.create_task(standby.run())
    await asyncio.sleep(0.3)
    assert not standby.leading  # one leader at a time
    _kill(postgres_url, leader.leadership.pid)
    assert await _until(lambda: standby.leading and not leader.leading) < 5
    await asyncio.sleep(1)
    assert standby.leading and not leader.leading  # the old leader stays down
    await _stop(leading, waiting)
    for core in (first, second):
        core.engine.dispose()


async def test_a_lone_process_takes_a_lost_lock_again(postgres_url, classifier):
    core = make_core(postgres_url, classifier)
    outbound, _ = _screen()
    scheduler = DigestScheduler(core, outbound, check_every=0.05)
    task = asyncio.create_task(scheduler.run())
    await _until(lambda: scheduler.leading)
    lost = scheduler.leadership.pid
    _kill(postgres_url, lost)
    await _until(lambda: scheduler.leadership.pid not in (None, lost))
    assert scheduler.leading and scheduler.leadership.held()
    await _stop(task)
    core.engine.dispose()


async def test_a_job_runs_only_while_its_process_holds_the_lock(postgres_url, classifier):
    import bot.scheduler as scheduling

    core = make_core(postgres_url, classifier)
    _department(core, "Logistics", timezone="UTC", digest_time="09:00")
    outbound, screen = _screen()
    leadership = Leadership(core)
    assert leadership.acquire()
    scheduling._runtime = scheduling.Runtime(core, outbound, leadership)
    with time_machine.travel(datetime(2026, 11, 24, 9, 30, tzinfo=UTC), tick=False):
        _kill(postgres_url, leadership.pid)
        await scheduling.scheduled_digest(core.department("Logistics").id)
        assert screen.getvalue() == "" and _runs(core) == []  # lost the lock: not its job
        assert leadership.acquire()  # leads again
        await scheduling.scheduled_digest(core.department("Logistics").id)
    assert screen.getvalue().count("╭─ Logistics") == 1
    leadership.release()
    core.engine.dispose()
