"""What a department's digest says: the data that adapters render (Block Kit, Adaptive Cards).

A leaf module: it imports no service, so the ports can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Quote:
    """A customer's own words (redacted), with where they came from."""

    id: int
    text: str
    score: float
    topic: str | None
    source: str
    link: str


@dataclass(frozen=True, slots=True)
class TopicCount:
    """A topic's volume now and in the previous period."""

    name: str
    count: int
    previous: int


@dataclass(frozen=True, slots=True)
class Resolution:
    """ "You said, we did": a complaint an executive resolved, and what was done."""

    text: str
    note: str
    executive: str
    link: str


@dataclass(frozen=True, slots=True)
class DayCount:
    """One day's items by sentiment, for the chart."""

    day: date
    negative: int
    neutral: int
    positive: int


@dataclass(frozen=True, slots=True)
class Digest:
    """What a department's customers said between `start` and `end`."""

    department: str
    start: datetime
    end: datetime
    sentiment: dict[str, int]
    previous_sentiment: dict[str, int]
    topics: list[TopicCount] = field(default_factory=list)
    negative: list[Quote] = field(default_factory=list)
    positive: list[Quote] = field(default_factory=list)
    daily: list[DayCount] = field(default_factory=list)  # the last CHART_DAYS days, oldest first
    open_complaints: int = 0  # assigned to executives and not resolved yet
    resolved: list[Resolution] = field(default_factory=list)  # in this period
    other_languages: int = 0  # items in languages the model does not read: never counted
    foreign: list[Quote] = field(default_factory=list)  # some of them, untranslated

    @property
    def volume(self) -> int:
        """Items in the period."""
        return sum(self.sentiment.values())

    @property
    def previous_volume(self) -> int:
        """Items in the previous period of the same length."""
        return sum(self.previous_sentiment.values())

    def share(self, sentiment: str, previous: bool = False) -> float:
        """Fraction of the period's items with `sentiment` (0 when there are none)."""
        counts = self.previous_sentiment if previous else self.sentiment
        total = sum(counts.values())
        return counts.get(sentiment, 0) / total if total else 0.0
