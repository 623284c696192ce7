"""Posting exactly once: a department's digest per period, an executive programme notice
per (kind, key); and retrying what failed.

A unique row decides who posts: a second replica, a restart or a retry finds the row
and either leaves it (sent, or being sent) or takes it over (failed, or abandoned by a
process that died). A failed post is recorded and never marked as sent.
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, update
from sqlmodel import select

from bot.core import Upside
from bot.db import insert_new
from bot.models import Department, DigestRun, Notice, utcnow
from bot.ports import Outbound, Posted

log = logging.getLogger(__name__)
Row = TypeVar("Row", DigestRun, Notice)
STALE = timedelta(minutes=10)  # a "sending" run this old belonged to a process that died


class DeliveryError(RuntimeError):
    """The platform could not be reached; the run is recorded as failed for a later retry."""


async def deliver(
    core: Upside, outbound: Outbound, department: Department, start: datetime, end: datetime
) -> DigestRun:
    """Build and post the digest for [start, end) unless this period was posted already.

    The database work runs in a thread, so a large digest never holds up the event loop
    that answers Slack.
    """
    run = await to_thread(_digest_run, core, department, start, end)
    if not await to_thread(_take, core, DigestRun, run.id):
        return run
    digest = await to_thread(core.digest, department, run.period_start, run.period_end)
    if not digest.volume and department.quiet == "skip":  # by the department's choice
        return await to_thread(_finish, core, DigestRun, run.id, status="skipped")
    posted = await _post(
        core,
        DigestRun,
        run.id,
        lambda: outbound.post_digest(department.address, digest),
        f"{department.name}'s digest",
    )
    return await to_thread(_finish, core, DigestRun, run.id, status="sent", message_ref=posted)


async def send_once(
    core: Upside, kind: str, key: str, send: Callable[[], Awaitable[Posted]]
) -> bool:
    """Send the notice (kind, key) unless it was sent or is being sent; True when sent now.

    Raises DeliveryError when the platform cannot be reached; the notice is then
    recorded as failed and the next call with the same kind and key sends it.
    """
    notice_id = await to_thread(_notice, core, kind, key)
    if not await to_thread(_take, core, Notice, notice_id):
        return False
    posted = await _post(core, Notice, notice_id, send, f"the {kind} notice {key}")
    await to_thread(_finish, core, Notice, notice_id, status="sent", message_ref=posted)
    return True


def _digest_run(core: Upside, department: Department, start: datetime, end: datetime) -> DigestRun:
    """The department's run for the period ending at `end`, created if new."""
    with core.session() as session:
        values = {"department_id": department.id, "period_start": start, "period_end": end}
        insert_new(session, DigestRun, ["department_id", "period_end"], **values)
        return session.exec(
            select(DigestRun).where(
                DigestRun.department_id == department.id, DigestRun.period_end == end
            )
        ).one()


def _notice(core: Upside, kind: str, key: str) -> int:
    """The id of the notice (kind, key), created if new."""
    with core.session() as session:
        insert_new(session, Notice, ["kind", "key"], kind=kind, key=key)
        return session.exec(select(Notice.id).where(Notice.kind == kind, Notice.key == key)).one()


async def _post(
    core: Upside,
    model: type[Row],
    row_id: int | None,
    send: Callable[[], Awaitable[Posted]],
    what: str,
) -> str:
    """Run `send`; a failure is recorded on the row and raised as DeliveryError."""
    try:
        posted = await send()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        await to_thread(_finish, core, model, row_id, status="failed", error=error)
        raise DeliveryError(f"could not post {what}: {exc}") from exc
    return f"{posted.channel} {posted.ref}"


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


def _take(core: Upside, model: type[Row], row_id: int | None) -> bool:
    """Atomically move the row to "sending"; False when another poster has it or it is sent."""
    now = utcnow()
    takeable = (model.status.in_(["pending", "failed"])) | (
        (model.status == "sending") & (model.started_at < now - STALE)
    )
    with core.session() as session:
        taken = session.execute(
            update(model)
            .where(model.id == row_id, takeable)
            .values(status="sending", attempts=model.attempts + 1, started_at=now)
        )
        return taken.rowcount == 1


def _finish(core: Upside, model: type[Row], row_id: int | None, **values: object) -> Row:
    with core.session() as session:
        stored = session.get(model, row_id)
        assert stored is not None
        stored.sqlmodel_update(values)
        if values.get("status") == "sent":
            stored.sent_at = utcnow()
        session.add(stored)
        return stored
