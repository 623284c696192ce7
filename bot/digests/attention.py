"""Telling admins when Upside can no longer post somewhere, and holding what would fail.

When a platform refuses for good (the channel is gone, or private without the bot; the
message is refused; the app was uninstalled or its token revoked), `Watchful` records a
hold (`bot.digests.holds`) with the platform's reason, DMs each admin once, and from then
on refuses to send there without asking the platform, until the hold is released.

`Watchful` wraps the outbound side the scheduler and the commands use, so every kind
of message (digests, alerts, scoreboards, complaints, thread replies) is covered.
"""

from __future__ import annotations

import hashlib
import logging
from asyncio import to_thread
from collections.abc import Awaitable, Callable
from functools import partial

from bot.config import Settings
from bot.core import Upside
from bot.digests.delivery import DeliveryError, send_once
from bot.digests.digest import Digest
from bot.digests.holds import AppUnreachable, held, hold
from bot.executives.views import ComplaintView, Standing
from bot.messages import Code, Message, Strong, para
from bot.models import Attention
from bot.ports import Address, Outbound, Posted, Unreachable

log = logging.getLogger(__name__)


def admins(settings: Settings) -> list[Address]:
    """The admins named by id on each platform."""
    slack = [Address("slack", user) for user in sorted(settings.ids(settings.slack_admins))]
    tenant = settings.teams_tenant_id or ""
    teams = [Address("teams", user, tenant) for user in sorted(settings.ids(settings.teams_admins))]
    return slack + teams


async def tell_admins(core: Upside, outbound: Outbound, concern: Attention) -> int:
    """DM each admin, once per record, that Upside cannot post where it says; returns how many."""
    place = concern.place or "this workspace (the app itself)"
    message = Message.of(
        para(
            Strong("Upside can no longer post"),
            f" to {place} on {concern.platform.title()}: {concern.reason}.",
        ),
        para(
            "Add Upside back to that conversation, point the department at another channel with ",
            Code("departments set NAME --channel #channel"),
            ", or re-install the app; what could not be posted then follows, once. ",
            Code("upside status"),
            " lists what is waiting.",
        ),
    )
    told = 0
    for admin in admins(core.settings):
        key = hashlib.sha256(f"{concern.id}|{concern.since}|{admin}".encode()).hexdigest()[:40]
        try:
            told += await send_once(
                core, "attention", key, partial(outbound.send_direct, admin, message)
            )
        except (DeliveryError, Unreachable) as exc:
            log.warning("could not tell admin %s what needs attention: %s", admin, exc)
    return told


class Watchful(Outbound):
    """An outbound side that holds deliveries where a platform refuses for good, tells the
    admins once, and resumes once a post there succeeds."""

    def __init__(self, core: Upside, inner: Outbound) -> None:
        self.core = core
        self.inner = inner

    async def _guard(self, where: Address, send: Callable[[], Awaitable[Posted]]) -> Posted:
        holding = await to_thread(held, self.core, where)
        if holding is not None:  # asking the platform again cannot help
            raise Unreachable(f"held until an admin acts: {holding.reason}")
        try:
            return await send()
        except AppUnreachable as exc:
            app = Address(where.platform, "", exc.workspace)
            await self._hold(app, str(exc), exc.credential)
            raise
        except Unreachable as exc:
            await self._hold(where, str(exc))
            raise

    async def _hold(self, where: Address, reason: str, credential: str = "") -> None:
        concern = await to_thread(hold, self.core, where, reason, credential)
        if concern is not None:
            log.warning("deliveries to %s are held: %s", where, reason)
            await tell_admins(self.core, self.inner, concern)

    async def post_digest(self, channel: Address, digest: Digest) -> Posted:
        return await self._guard(channel, partial(self.inner.post_digest, channel, digest))

    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        send = partial(self.inner.post_alert, channel, department, message)
        return await self._guard(channel, send)

    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        send = partial(self.inner.post_scoreboard, channel, month, standings)
        return await self._guard(channel, send)

    async def send_direct(self, person: Address, message: Message) -> Posted:
        return await self._guard(person, partial(self.inner.send_direct, person, message))

    async def send_complaint(self, person: Address, complaint: ComplaintView, intro: str) -> Posted:
        send = partial(self.inner.send_complaint, person, complaint, intro)
        return await self._guard(person, send)

    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        return await self.inner.reply_in_thread(source, link, message)  # the note stays recorded
