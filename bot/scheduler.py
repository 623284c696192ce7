"""Daily digests on each department's own schedule, in its time zone and work week.

APScheduler 3 runs one cron job per department (SQLAlchemy job store, coalesced,
with a misfire grace time), so a digest missed while Upside was down is sent once
when it comes back, covering the whole gap since the last one. Only one process
schedules: on PostgreSQL a session advisory lock elects it; on SQLite, whose processes
share one machine, an exclusive lock on a file beside the database. The leader checks
that it still holds the lock every few seconds and before each job, and steps down when
it does not; a standby bids as often, so another process (or this one, on a new
connection) leads again within seconds. The unique (department, period end) row makes
a double post impossible.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from bot.core import Upside
from bot.cron import last_fire
from bot.digests.delivery import DeliveryError, deliver, due_period, last_covered, retry_failed
from bot.digests.spikes import alert_spikes
from bot.executives.followup import follow_up
from bot.executives.programme import assign_month
from bot.intake.worker import db_error
from bot.models import Department, utcnow
from bot.ports import Outbound

log = logging.getLogger(__name__)
LOCK_KEY = 0x5570_5349_4445  # "UpSIDE": the advisory lock the scheduling process holds
MISFIRE_GRACE = 24 * 3600  # seconds: a digest missed by up to a day is still sent, once
SYNC_EVERY = 60  # seconds between checks of departments' schedules


def trigger_for(department: Department) -> CronTrigger:
    """The department's digest time on its work days, in its own time zone."""
    hour, minute = (int(part) for part in department.digest_time.split(":"))
    return CronTrigger(
        day_of_week=department.work_days,
        hour=hour,
        minute=minute,
        timezone=ZoneInfo(department.timezone),
    )


def holidays(department: Department) -> set[date]:
    """The department's dates without a digest."""
    return {date.fromisoformat(d) for d in department.holidays.split(",") if d}


@dataclass
class Runtime:
    """What the scheduled job needs; set by `DigestScheduler.start` for this process."""

    core: Upside
    outbound: Outbound
    leadership: Leadership | None = None

    async def leads(self) -> bool:
        """Whether this process still holds the scheduling lock (checked before each job)."""
        if self.leadership is None or await asyncio.to_thread(self.leadership.held):
            return True
        log.warning("a scheduled job was skipped: this process no longer leads")
        return False


_runtime: Runtime | None = None


async def scheduled_digest(department_id: int) -> None:
    """The job: post the department's digest for the period since its last one."""
    if _runtime is None:
        raise RuntimeError("the digest scheduler is not running in this process")
    if await _runtime.leads():
        await post_due_digest(_runtime.core, _runtime.outbound, department_id, utcnow())


async def monthly_assignment() -> None:
    """The job: this month's complaints for the executives (a month is assigned once)."""
    if _runtime is None:
        raise RuntimeError("the scheduler is not running in this process")
    if not await _runtime.leads():
        return
    now = utcnow()
    await assign_month(_runtime.core, _runtime.outbound, now.strftime("%Y-%m"), now.date())


async def post_due_digest(
    core: Upside, outbound: Outbound, department_id: int, now: datetime
) -> bool:
    """Post the digest due at the department's latest scheduled time; False when none is due.

    The period ends at that scheduled time (so every replica and retry names the same
    period) and starts where the last sent digest ended: after downtime or holidays one
    digest covers the whole gap.
    """
    with core.session() as session:
        department = session.get(Department, department_id)
    if department is None:
        return False
    end = last_fire(trigger_for(department), now)
    if end is None:
        return False
    local_day = end.astimezone(ZoneInfo(department.timezone)).date()
    if local_day in holidays(department):
        log.info("%s: %s is a holiday; the next digest covers it", department.name, local_day)
        return False
    start, end = due_period(core, department, end)
    if start >= end:
        return False  # already covered
    try:
        await deliver(core, outbound, department, start, end)
    except DeliveryError as exc:
        log.warning("%s; it will be retried", exc)
    return True


class Leadership:
    """Whether this process may schedule: the holder of a PostgreSQL advisory lock, or on
    SQLite of `flock` on `DATABASE.scheduler.lock` (`serve` and `worker` on one file).

    The advisory lock lives as long as the database session that took it; when that session
    dies (a killed connection, a database restart) the lock is gone, and `held` says so.
    The file lock lives as long as this process: the system frees it when the process dies.
    """

    def __init__(self, core: Upside) -> None:
        self.core = core
        self.pid: int | None = None  # the database backend whose session holds the lock
        self._connection: Connection | None = None
        self._file: IO | None = None

    def acquire(self) -> bool:
        """Keep the lead or try to take it; True while this process leads.

        A lock found lost is given up first, so a lone process takes it again.
        """
        if self.core.engine.dialect.name != "postgresql":
            return self._lock_file()
        if self.held():
            return True
        if self._connection is not None:
            log.warning("the scheduling lock was lost: this process stops scheduling")
            self._drop()
        connection = self.core.engine.connect()
        try:
            taken, pid = connection.execute(
                text("SELECT pg_try_advisory_lock(:key), pg_backend_pid()"), {"key": LOCK_KEY}
            ).one()
            connection.commit()
        except BaseException:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._connection, self.pid = connection, pid  # the lock lives as long as this session
        return True

    def _lock_path(self) -> Path | None:
        """The SQLite database's scheduler lock file; None for an in-memory database."""
        database = self.core.engine.url.database
        return Path(f"{database}.scheduler.lock") if database and database != ":memory:" else None

    def _lock_file(self) -> bool:
        """Hold the SQLite database's scheduler lock file."""
        path = self._lock_path()
        if self._file is not None or path is None:
            return True
        handle = path.open("a")  # held open until `release`
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process on this database schedules
            handle.close()
            return False
        self._file = handle
        return True

    def held(self) -> bool:
        """Whether the lock is still held, asked on the session that took it."""
        if self.core.engine.dialect.name != "postgresql":
            return self._file is not None or self._lock_path() is None
        if self._connection is None:
            return False
        try:
            held = self._connection.execute(HELD, _lock_parts()).scalar()
            self._connection.commit()
        except SQLAlchemyError:  # the session is gone, and the lock with it
            return False
        return bool(held)

    def release(self) -> None:
        """Give the lock up (a pooled session outlives `close`, so unlock explicitly)."""
        if self._file is not None:
            self._file.close()  # closing the file frees its lock
            self._file = None
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                self._connection.commit()
            finally:
                self._drop()

    def _drop(self) -> None:
        """Forget the lock's session; a broken one is discarded rather than pooled."""
        connection, self._connection, self.pid = self._connection, None, None
        if connection is not None:
            connection.invalidate()  # a session that held the lock never goes back to the pool
            connection.close()


# pg_locks shows a bigint advisory key as its high and low 32 bits (objsubid 1)
HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
    " AND pid = pg_backend_pid() AND granted AND objsubid = 1"
    " AND classid::text::bigint = :high AND objid::text::bigint = :low)"
)


def _lock_parts() -> dict[str, int]:
    return {"high": LOCK_KEY >> 32, "low": LOCK_KEY & 0xFFFF_FFFF}


class DigestScheduler:
    """Keeps one cron job per department while this process leads."""

    def __init__(self, core: Upside, outbound: Outbound, check_every: float | None = None) -> None:
        self.core = core
        self.outbound = outbound
        self.leadership = Leadership(core)
        self.check_every = check_every or core.settings.leader_interval
        self.scheduler: AsyncIOScheduler | None = None

    @property
    def leading(self) -> bool:
        """Whether this process schedules now."""
        return self.scheduler is not None

    async def run(self) -> None:
        """Until cancelled, every `check_every` seconds: lead when possible and step down the
        moment the lock is lost; while leading, every SYNC_EVERY seconds keep jobs in step
        with departments, post failed digests again, check for spikes and send the executive
        programme's follow-ups. While the database is away it logs once, not every round."""
        global _runtime
        _runtime = Runtime(self.core, self.outbound, self.leadership)
        due, away = 0.0, False
        try:
            while True:
                try:
                    if await self._lead() and time.monotonic() >= due:
                        due = time.monotonic() + SYNC_EVERY
                        await self._round()
                    if away:
                        log.warning("scheduling resumed: the database is back")
                    away = False
                except SQLAlchemyError as exc:
                    if not away:
                        log.error("scheduling paused, database unavailable: %s", db_error(exc))
                    away = True
                except Exception:
                    log.exception("digest scheduling round failed")
                await asyncio.sleep(self.check_every)
        finally:
            self._step_down()
            with contextlib.suppress(SQLAlchemyError):
                self.leadership.release()

    async def _lead(self) -> bool:
        """Take or keep the lead, starting the jobs and catching up on becoming leader;
        whenever this process does not lead (or cannot tell), its jobs stop."""
        leading = False
        try:
            leading = await asyncio.to_thread(self.leadership.acquire)
        finally:
            if not leading:
                self._step_down()
        if leading and self.scheduler is None:
            log.info("this process leads: it schedules digests and the executive programme")
            self._ensure_started()
            await asyncio.to_thread(self.sync)
            await self.catch_up()  # however long no process was scheduling
        return leading

    async def _round(self) -> None:
        """The leader's periodic work beside the cron jobs."""
        await asyncio.to_thread(self.sync)
        await retry_failed(self.core, self.outbound)
        await alert_spikes(self.core, self.outbound, utcnow())
        await follow_up(self.core, self.outbound, utcnow())

    def _step_down(self) -> None:
        """Stop running jobs; another process (or this one, later) leads instead."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)

    async def catch_up(self) -> int:
        """Post every digest that fell due while no process was scheduling; returns how many.

        APScheduler's misfire grace covers short gaps; this covers any gap, once. A
        department that never had a digest waits for its first scheduled time instead.
        """
        with self.core.session() as session:
            ids = session.exec(select(Department.id)).all()
        now, posted = utcnow(), 0
        for department_id in ids:
            if last_covered(self.core, department_id) is not None:
                posted += await post_due_digest(self.core, self.outbound, department_id, now)
        return posted

    def _ensure_started(self) -> None:
        if self.scheduler is not None:
            return
        self.scheduler = AsyncIOScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.core.engine)},
            job_defaults={"coalesce": True, "misfire_grace_time": MISFIRE_GRACE},
        )
        self.scheduler.start()

    def sync(self) -> None:
        """Add, update or remove jobs to match the departments' schedules."""
        assert self.scheduler is not None
        with self.core.session() as session:
            departments = session.exec(select(Department)).all()
        wanted = {f"digest-{d.id}": d for d in departments}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest-") and job.id not in wanted:
                job.remove()
        self.scheduler.add_job(  # the first working day: the first weekday of days 1-7
            monthly_assignment,
            CronTrigger(day="1-7", day_of_week="mon-fri", hour=8, timezone=UTC),
            id="monthly-assignment",
            name="executives' monthly complaints",
            replace_existing=True,
        )
        for job_id, department in wanted.items():
            trigger = trigger_for(department)
            job = self.scheduler.get_job(job_id)
            if job is None or repr(job.trigger) != repr(trigger):
                self.scheduler.add_job(
                    scheduled_digest,
                    trigger,
                    args=[department.id],
                    id=job_id,
                    name=f"{department.name} digest",
                    replace_existing=True,
                )
