"""The contract between channels and the core, in the manner of errbot's backend base.

Every adapter turns what its platform sends into an `InboundFeedback`, and every
platform that can reach people implements `Outbound`. People and conversations are
`Address`es: an id on one platform, in one workspace or tenant. The data that crosses
the port lives in leaf modules that import no service.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.digests.digest import Digest
from bot.executives.views import ComplaintView, Standing
from bot.messages import Message

PLATFORMS = ("slack", "teams")


@dataclass(frozen=True, slots=True)
class Address:
    """A person or a conversation on one platform.

    ``id`` is a Slack user or channel id, or a Teams Entra object id (people) or
    conversation id (channels); ``workspace`` is the Slack team or Teams tenant, empty
    where a platform has one only.
    """

    platform: str
    id: str
    workspace: str = ""


@dataclass(frozen=True, slots=True)
class InboundFeedback:
    """One customer message, as any channel delivers it."""

    source: str
    external_id: str
    text: str
    channel: str = ""
    author: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    link: str = ""


@dataclass(frozen=True, slots=True)
class Posted:
    """Where an outbound message landed, so it can be referred to or threaded on later."""

    channel: str
    ref: str


def platform_of(source: str) -> str | None:
    """The chat platform a feedback source belongs to ("slack-command" → "slack"), if any."""
    platform = source.split("-", 1)[0]
    return platform if platform in PLATFORMS else None


class Unreachable(RuntimeError):
    """The platform refuses for good (the bot was removed, the channel is gone): no retry."""


class Outbound(ABC):
    """How the core reaches people on a platform; Slack, Teams and the console implement it."""

    @abstractmethod
    async def post_digest(self, channel: Address, digest: Digest) -> Posted:
        """Post a department's digest into its channel."""

    @abstractmethod
    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        """Post a short alert for `department` into its channel."""

    @abstractmethod
    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        """Post the executives' month-end scoreboard into the leadership channel."""

    @abstractmethod
    async def send_direct(self, person: Address, message: Message) -> Posted:
        """Send a direct message to one person."""

    @abstractmethod
    async def send_complaint(self, person: Address, complaint: ComplaintView, intro: str) -> Posted:
        """Send an executive one complaint, with ways to claim, release and resolve it."""

    @abstractmethod
    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        """Reply in the thread of the source message that `link` (from `source`) points at."""


class Switchboard(Outbound):
    """One `Outbound` per platform behind one: each call goes to its address's platform.

    One process may serve Slack and Teams at once, some departments posting in each.
    """

    def __init__(self, platforms: dict[str, Outbound]) -> None:
        self.platforms = platforms

    def add(self, platform: str, outbound: Outbound) -> None:
        """Route `platform`'s addresses to `outbound`."""
        self.platforms[platform] = outbound

    def _to(self, platform: str | None) -> Outbound:
        outbound = self.platforms.get(platform or "")
        if outbound is None:
            raise Unreachable(f"{platform or 'this source'} is not configured in this Upside")
        return outbound

    async def post_digest(self, channel: Address, digest: Digest) -> Posted:
        return await self._to(channel.platform).post_digest(channel, digest)

    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        return await self._to(channel.platform).post_alert(channel, department, message)

    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        return await self._to(channel.platform).post_scoreboard(channel, month, standings)

    async def send_direct(self, person: Address, message: Message) -> Posted:
        return await self._to(person.platform).send_direct(person, message)

    async def send_complaint(self, person: Address, complaint: ComplaintView, intro: str) -> Posted:
        return await self._to(person.platform).send_complaint(person, complaint, intro)

    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        return await self._to(platform_of(source)).reply_in_thread(source, link, message)
