"""The contract between channels and the core, in the manner of errbot's backend base.

Every adapter turns what its platform sends into an `InboundFeedback`, and every
platform that can reach people implements `Outbound`. This is the only adapters
module the core imports.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.complaints import ComplaintView
    from bot.digest import Digest
    from bot.scoreboard import Standing


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


class Outbound(ABC):
    """How the core reaches people on a platform; Slack, Teams and the console implement it."""

    @abstractmethod
    async def post_digest(self, channel: str, digest: Digest) -> Posted:
        """Post a department's digest into its channel."""

    @abstractmethod
    async def post_alert(self, channel: str, department: str, text: str) -> Posted:
        """Post a short alert for `department` into its channel."""

    @abstractmethod
    async def post_scoreboard(self, channel: str, month: str, standings: list[Standing]) -> Posted:
        """Post the executives' month-end scoreboard into the leadership channel."""

    @abstractmethod
    async def send_direct(self, user: str, text: str) -> Posted:
        """Send a direct message to one person."""

    @abstractmethod
    async def send_complaint(self, user: str, complaint: ComplaintView, intro: str) -> Posted:
        """Send an executive one complaint, with ways to claim, release and resolve it."""

    @abstractmethod
    async def reply_in_thread(self, link: str, text: str) -> Posted:
        """Reply in the thread of the source message that `link` points at."""
