"""Posting a department's digest exactly once per period, and retrying what failed.

The unique (department, period end) row decides who posts: a second replica, a
restart or a retry finds the row and either leaves it (sent, or being sent) or
takes it over (failed). A failed post is recorded and never marked as sent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import select

from adapters.base import Outbound
from bot.core import Upside
from bot.db import insert_new
from bot.models import Department, DigestRun, utcnow

log = logging.getLogger(__name__)
STALE = timedelta(minutes=10)  # a "sending" run this old belonged to a process that died


class DeliveryError(RuntimeError):
    """The platform could not be reached; the run is recorded as failed for a later retry."""


async def deliver(
    core: Upside, outbound: Outbound, department: Department, start: datetime, end: datetime
) -> DigestRun:
    """Build and post the digest for [start, end) unless this period was posted already."""
    with core.session() as session:
        values = {"department_id": department.id, "period_start": start, "period_end": end}
        insert_new(session, DigestRun, ["department_id", "period_end"], **values)
        run = session.exec(
            select(DigestRun).where(
                DigestRun.department_id == department.id, DigestRun.period_end == end
            )
        ).one()
    if not _take(core, run):
        return run
    digest = core.digest(department, run.period_start, run.period_end)
    if not digest.volume and department.quiet == "skip":
        return _finish(core, run, status="skipped")  # a quiet period, by the department's choice
    try:
        posted = await outbound.post_digest(department.channel, digest)
    except Exception as exc:
        _finish(core, run, status="failed", error=f"{type(exc).__name__}: {exc}"[:500])
        raise DeliveryError(f"could not post {department.name}'s digest: {exc}") from exc
    return _finish(core, run, status="sent", message_ref=f"{posted.channel} {posted.ref}")


def due_period(core: Upside, department: Department, end: datetime) -> tuple[datetime, datetime]:
    """The period a digest ending at `end` covers: since the last one (a day, for the first).

    The CLI preview, `/upside digest now` and the scheduled job all take their period here.
    """
    assert department.id is not None
    start = last_covered(core, department.id) or end - timedelta(days=1)
    return min(start, end), end


def last_covered(core: Upside, department_id: int) -> datetime | None:
    """Where the department's last digest (sent, or skipped as quiet) ended."""
    with core.session() as session:
        return session.exec(
            select(func.max(DigestRun.period_end)).where(
                DigestRun.department_id == department_id,
                DigestRun.status.in_(["sent", "skipped"]),
            )
        ).one()


async def retry_failed(core: Upside, outbound: Outbound) -> int:
    """Post again every digest whose post failed (or whose poster died); returns how many."""
    with core.session() as session:
        rows = session.exec(
            select(DigestRun, Department)
            .join(Department, Department.id == DigestRun.department_id)
            .where(DigestRun.status.in_(["failed", "sending"]))
        ).all()
    posted = 0
    for run, department in rows:
        try:
            await deliver(core, outbound, department, run.period_start, run.period_end)
            posted += 1
        except DeliveryError as exc:
            log.warning("%s", exc)
    return posted


def _take(core: Upside, run: DigestRun) -> bool:
    """Atomically move the run to "sending"; False when another poster has it or it is sent."""
    now = utcnow()
    takeable = (DigestRun.status.in_(["pending", "failed"])) | (
        (DigestRun.status == "sending") & (DigestRun.started_at < now - STALE)
    )
    with core.session() as session:
        taken = session.execute(
            update(DigestRun)
            .where(DigestRun.id == run.id, takeable)
            .values(status="sending", attempts=DigestRun.attempts + 1, started_at=now)
        )
        return taken.rowcount == 1


def _finish(core: Upside, run: DigestRun, **values: object) -> DigestRun:
    with core.session() as session:
        stored = session.get(DigestRun, run.id)
        assert stored is not None
        stored.sqlmodel_update(values)
        if values.get("status") == "sent":
            stored.sent_at = utcnow()
        session.add(stored)
        return stored
