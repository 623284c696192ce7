"""Telling admins when Upside can no longer post somewhere (the bot was removed, the
conversation is gone): once per place and admin, through the send-once notices.

`Watchful` wraps the outbound side the scheduler and the commands use, so every kind
of message (digests, alerts, scoreboards, complaints, thread replies) is covered.
"""

from __future__ import annotations

import hashlib
import logging
from functools import partial

from bot.config import Settings
from bot.core import Upside
from bot.digests.delivery import DeliveryError, send_once
from bot.digests.digest import Digest
from bot.executives.views import ComplaintView, Standing
from bot.messages import Code, Message, Strong, para
from bot.ports import Address, Outbound, Posted, Unreachable

log = logging.getLogger(__name__)


def admins(settings: Settings) -> list[Address]:
    """The admins named by id on each platform."""
    slack = [Address("slack", user) for user in sorted(settings.ids(settings.slack_admins))]
    tenant = settings.teams_tenant_id or ""
    teams = [Address("teams", user, tenant) for user in sorted(settings.ids(settings.teams_admins))]
    return slack + teams


async def tell_admins(core: Upside, outbound: Outbound, where: Address, reason: str) -> int:
    """DM each admin, once per place, that Upside cannot post at `where`; returns how many."""
    message = Message.of(
        para(
            Strong("Upside can no longer post"),
            f" to {where.id} on {where.platform.title()}: {reason}.",
        ),
        para(
            "Add Upside back to that conversation (or point the department at another "
            "channel with ",
            Code("departments set NAME --channel #channel"),
            "); what could not be posted is retried.",
        ),
    )
    told = 0
    for admin in admins(core.settings):
        key = hashlib.sha256(f"{where}|{admin}".encode()).hexdigest()[:40]
        try:
            told += await send_once(
                core, "attention", key, partial(outbound.send_direct, admin, message)
            )
        except (DeliveryError, Unreachable) as exc:
            log.warning("could not tell admin %s that %s is unreachable: %s", admin, where, exc)
    return told


class Watchful(Outbound):
    """An outbound side that tells the admins when a platform refuses a place for good."""

    def __init__(self, core: Upside, inner: Outbound) -> None:
        self.core = core
        self.inner = inner

    async def _guard(self, where: Address, send) -> Posted:
        try:
            return await send()
        except Unreachable as exc:
            await tell_admins(self.core, self.inner, where, str(exc))
            raise

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
