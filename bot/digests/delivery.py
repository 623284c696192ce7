"""Posting exactly once: a department's digest per period, any other notice per (kind, key);
and retrying what failed, with back-off.

A unique row decides who posts: a second replica, a restart or a retry finds the row
and either leaves it (sent, or being sent) or takes it over (failed, or abandoned by a
process that died). A failed post is recorded and never marked as sent; one the platform
refused for good is held (`bot.digests.attention`) until an admin acts.

Every item of a department appears in exactly one posted digest: a digest is claimed under
a lock on its department, starts where the last posted one ended, and closes the runs it
covers that never posted as superseded. After failures, one digest covers the whole gap.
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, update
from sqlmodel import Session, select

from bot.core import Upside
from bot.db import insert_new
from bot.digests.holds import held
from bot.models import Department, DigestRun, Notice, utcnow
from bot.ports import Outbound, Posted, Unreachable

log = logging.getLogger(__name__)
Row = TypeVar("Row", DigestRun, Notice)
STALE = timedelta(minutes=10)  # a "sending" run this old belonged to a process that died
COVERED = ("sent", "skipped")  # a digest's period is covered: its items were shown, or none
OPEN = ("pending", "failed", "held")  # not posted, and nobody is posting it


class DeliveryError(RuntimeError):
    """The platform could not be reached, or refused; the row records it for a later retry."""


def backoff(attempts: int) -> timedelta:
    """How long a row that failed `attempts` times waits: at once, then 1, 2, 4 … minutes,
    at most an hour."""
    if attempts <= 1:
        return timedelta(0)
    return min(timedelta(minutes=2 ** (attempts - 2)), timedelta(hours=1))


def due_again(row: DigestRun | Notice, now: datetime) -> bool:
    """Whether a failed or held row has waited its back-off."""
    return row.started_at is None or now >= row.started_at + backoff(row.attempts)


async def deliver(
    core: Upside, outbound: Outbound, department: Department, start: datetime, end: datetime
) -> DigestRun:
    """Build and post the digest for the period ending at `end` unless it was posted already.

    The period starts where the department's last posted digest ended (at `start` for its
    first). The database work runs in a thread, so a large digest never holds up the event
    loop that answers Slack.
    """
    run, mine = await to_thread(_claim, core, department, start, end)
    if not mine:
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
    """Send the notice (kind, key) unless it was sent, is being sent or waits its back-off;
    True when sent now.

    Raises DeliveryError when the platform cannot be reached or refuses; the notice is then
    recorded as failed (or held) and a later call with the same kind and key sends it.
    """
    notice_id = await to_thread(_notice, core, kind, key)
    if not await to_thread(_take, core, notice_id):
        return False
    posted = await _post(core, Notice, notice_id, send, f"the {kind} notice {key}")
    await to_thread(_finish, core, Notice, notice_id, status="sent", message_ref=posted)
    return True


def _claim(
    core: Upside, department: Department, start: datetime, end: datetime
) -> tuple[DigestRun, bool]:
    """The department's run ending at `end` (created if new), and whether the caller may
    post it now.

    One claimer at a time per department (a lock on its row). A run is posted only while no
    other run of its department is being posted and none ends later; it starts where the
    last covered period ended, and the runs it covers that never posted are superseded.
    """
    now = utcnow()
    with core.session() as session:
        # a no-op update locks the row: SQLite has no SELECT ... FOR UPDATE
        lock = update(Department).where(Department.id == department.id)
        session.execute(lock.values(name=Department.name))
        values = {"department_id": department.id, "period_start": start, "period_end": end}
        insert_new(session, DigestRun, ["department_id", "period_end"], **values)
        runs = select(DigestRun).where(DigestRun.department_id == department.id)
        run = session.exec(runs.where(DigestRun.period_end == end)).one()
        fresh = (DigestRun.status == "sending") & (DigestRun.started_at >= now - STALE)
        if run.status not in (*OPEN, "sending") or session.exec(runs.where(fresh)).first():
            return run, False  # done, or someone is posting (this run, or one before it)
        covered = _covered(session, department.id)
        later = runs.where(DigestRun.period_end > end, DigestRun.status != "superseded")
        if (covered and covered >= end) or session.exec(later).first():
            run.status = "superseded"  # a later digest covers (or will cover) its items
            session.add(run)
            return run, False
        earlier = runs.where(DigestRun.period_end < end, DigestRun.status != "superseded")
        unposted = session.exec(earlier.where(DigestRun.status.in_([*OPEN, "sending"]))).all()
        for stale in unposted:
            stale.status = "superseded"
            session.add(stale)
        run.period_start = covered or min(r.period_start for r in [*unposted, run])
        run.status, run.attempts, run.started_at = "sending", run.attempts + 1, now
        session.add(run)
        return run, True


def _covered(session: Session, department_id: int | None) -> datetime | None:
    return session.exec(
        select(func.max(DigestRun.period_end)).where(
            DigestRun.department_id == department_id, DigestRun.status.in_(COVERED)
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
    """Run `send`; a failure is recorded on the row (held when refused for good) and
    raised as DeliveryError."""
    try:
        posted = await send()
    except Exception as exc:
        status = "held" if isinstance(exc, Unreachable) else "failed"
        error = f"{type(exc).__name__}: {exc}"[:500]
        await to_thread(_finish, core, model, row_id, status=status, error=error)
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
        return _covered(session, department_id)


async def retry_failed(core: Upside, outbound: Outbound) -> int:
    """Post again each department's latest unposted digest (failed and past its back-off,
    held and no longer held, or abandoned by a poster that died); returns how many posted.

    The retry covers everything since the last posted digest, so earlier failures are
    superseded rather than posted one by one.
    """
    now = utcnow()
    with core.session() as session:
        rows = session.exec(
            select(DigestRun, Department)
            .join(Department, Department.id == DigestRun.department_id)
            .where(DigestRun.status.in_([*OPEN, "sending"]))
            .order_by(DigestRun.period_end.desc())
        ).all()
    latest: dict[int | None, tuple[DigestRun, Department]] = {}
    for run, department in rows:
        latest.setdefault(department.id, (run, department))
    posted = 0
    for run, department in latest.values():
        if not await to_thread(_retryable, core, run, department, now):
            continue
        try:
            done = await deliver(core, outbound, department, run.period_start, run.period_end)
            posted += done.status == "sent"
        except DeliveryError as exc:
            log.warning("%s", exc)
    return posted


def _retryable(core: Upside, run: DigestRun, department: Department, now: datetime) -> bool:
    if run.status == "sending":
        return run.started_at is not None and run.started_at < now - STALE
    if run.status == "held":
        return held(core, department.address) is None
    return run.status == "pending" or due_again(run, now)


def _take(core: Upside, notice_id: int | None) -> bool:
    """Atomically move the notice to "sending" when it is new, due again or abandoned; False
    when another poster has it, it is sent, or it waits its back-off."""
    now = utcnow()
    with core.session() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        takeable = (
            notice.status == "pending"
            or (notice.status in ("failed", "held") and due_again(notice, now))
            or (notice.status == "sending" and notice.started_at < now - STALE)
        )
        if not takeable:
            return False
        taken = session.execute(
            update(Notice)
            .where(Notice.id == notice_id, Notice.status == notice.status)
            .where(Notice.attempts == notice.attempts)  # nobody took it meanwhile
            .values(status="sending", attempts=Notice.attempts + 1, started_at=now)
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
