"""What executives and leadership see of the programme: a complaint, a month's standings.

A leaf module: it imports no service, so the ports can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class ComplaintView:
    """A complaint as executives see it: redacted words, how bad, topic, source link.

    ``status`` is open (in the queue), assigned (given, not yet accepted), claimed or
    resolved.
    """

    id: int
    text: str
    score: float
    topic: str | None
    link: str
    status: str = "open"
    source: str = ""  # where it came from (slack, teams, webhook…): where the reply goes


@dataclass(frozen=True, slots=True)
class Standing:
    """One executive's month."""

    name: str
    user_id: str
    assigned: int
    resolved: int
    released: int
    median_to_resolve: timedelta | None  # from assignment to resolution

    @property
    def open(self) -> int:
        """Still in their hands."""
        return self.assigned - self.resolved - self.released


def duration(span: timedelta) -> str:
    """A span as people say it: minutes under an hour, hours under two days, days after."""
    hours = span.total_seconds() / 3600
    if hours < 1:
        return f"{span.total_seconds() / 60:.0f} min"
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.1f} days"
