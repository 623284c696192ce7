"""What holds deliveries: places a platform refused for good, until someone acts.

A place is a channel or a person; an empty place is the app itself in a workspace (empty:
in every workspace), uninstalled or without a working token. `Watchful` records holds;
`needs_attention` lists them for `upside status` and the admins' Home tab. A department
pointed at another channel is no longer held; `release` clears a hold when the app is
re-installed or given a new token (and should when an admin sets a department's channel).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import delete, select

from bot.core import Upside
from bot.db import insert_new
from bot.models import Attention, Department
from bot.ports import Address, Unreachable

log = logging.getLogger(__name__)


class AppUnreachable(Unreachable):
    """The platform refuses the app itself in a workspace (uninstalled, token revoked or
    invalid): nothing there can be posted until it is re-installed or given a new token.

    ``workspace`` is empty where one token serves every workspace; ``credential`` is a
    digest of the refused token (`credential_of`), so a new token is recognised.
    """

    def __init__(self, reason: str, workspace: str = "", credential: str = "") -> None:
        super().__init__(reason)
        self.workspace = workspace
        self.credential = credential


def credential_of(token: str | None) -> str:
    """A digest of a token that names it without revealing it."""
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""


@dataclass(frozen=True, slots=True)
class Concern:
    """One thing that needs an admin: where Upside cannot post, why, and whose digests wait."""

    where: Address  # a channel or person; id "" for the app in a whole workspace
    reason: str
    since: datetime
    departments: tuple[str, ...]

    def describe(self) -> str:
        """One line for a banner or a terminal."""
        platform = self.where.platform.title()
        place = self.where.id or f"the {platform} app" + (
            f" in workspace {self.where.workspace}" if self.where.workspace else ""
        )
        waiting = f" ({', '.join(self.departments)} waiting)" if self.departments else ""
        return f"Upside cannot post to {place} on {platform}: {self.reason}{waiting}."


def hold(core: Upside, where: Address, reason: str, credential: str = "") -> Attention | None:
    """Record that `where` needs attention; the new record, or None when it was known."""
    with core.session() as session:
        values = {"platform": where.platform, "workspace": where.workspace, "place": where.id}
        created = insert_new(
            session,
            Attention,
            ["platform", "workspace", "place"],
            reason=reason[:500],
            credential=credential,
            **values,
        )
        return session.get(Attention, created) if created is not None else None


def held(core: Upside, where: Address) -> Attention | None:
    """What holds deliveries to `where`: the place itself, or the app in its workspace."""
    with core.session() as session:
        rows = session.exec(select(Attention).where(Attention.platform == where.platform))
        return next((row for row in rows if _holds(row, where)), None)


def release(core: Upside, where: Address, keep_credential: str | None = None) -> int:
    """Clear what holds `where` (id "": the app in that workspace, or in all when that is
    empty too); with `keep_credential`, only app holds for another token. Returns how many."""
    query = delete(Attention).where(Attention.platform == where.platform)
    if where.id:
        query = query.where(Attention.place == where.id)
    else:
        query = query.where(Attention.place == "")
        if where.workspace:
            query = query.where(Attention.workspace.in_(["", where.workspace]))
        if keep_credential is not None:
            query = query.where(Attention.credential != keep_credential)
    with core.session() as session:
        released = session.execute(query).rowcount
    if released:
        log.info("deliveries to %s resume", where)
    return released


def needs_attention(core: Upside) -> list[Concern]:
    """Everything that holds deliveries, oldest first, with the departments it holds."""
    with core.session() as session:
        holds = session.exec(select(Attention).order_by(Attention.since, Attention.id)).all()
        departments = session.exec(select(Department).order_by(Department.name)).all()
    concerns = []
    for row in holds:
        where = Address(row.platform, row.place, row.workspace)
        waiting = tuple(d.name for d in departments if _holds(row, d.address))
        concerns.append(Concern(where, row.reason, row.since, waiting))
    return concerns


def _holds(row: Attention, address: Address) -> bool:
    """Whether the hold `row` covers `address`: its place, or the app in its workspace."""
    if row.platform != address.platform:
        return False
    if row.place:
        return row.place == address.id
    return row.workspace in ("", address.workspace)
