"""Spike alerts: far above the usual rate, once per cool-down, never lost to a failed post."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from rich.console import Console
from sqlmodel import select

from adapters.console import ConsoleOutbound
from bot.digests.spikes import alert_spikes, find_spikes
from bot.models import FeedbackItem, SpikeAlert, Topic

NOW = datetime(2026, 11, 24, 15, tzinfo=UTC)


def _negatives(core, topic_name: str, count: int, start: datetime, span: timedelta) -> None:
    with core.session() as session:
        topic = session.exec(select(Topic).where(Topic.name == topic_name)).one()
        offset = len(session.exec(select(FeedbackItem.id)).all())
        for index in range(count):
            when = start + span * (index / max(count, 1))
            session.add(
                FeedbackItem(
                    source="t",
                    external_id=str(offset + index),
                    text="The app crashed again, email me at x@example.com",
                    display_text="The app crashed again, email me at [email]",
                    created_at=when,
                    classified_at=when,
                    sentiment="negative",
                    sentiment_score=-0.9,
                    topic_id=topic.id,
                    department_id=topic.department_id,
                )
            )


async def test_a_spike_alerts_its_department_once_per_cool_down(core):
    _negatives(core, "App & website", 7, NOW - timedelta(hours=2), timedelta(hours=2))
    _negatives(core, "Delivery", 3, NOW - timedelta(hours=2), timedelta(hours=2))  # too few
    screen = io.StringIO()
    outbound = ConsoleOutbound(Console(file=screen, width=200))
    assert await alert_spikes(core, outbound, NOW) == 1
    shown = screen.getvalue()
    assert "#voice-digital (Digital)" in shown and "Spike in App & website: 7 negative" in shown
    assert "[email]" in shown and "x@example.com" not in shown
    assert await alert_spikes(core, outbound, NOW + timedelta(hours=1)) == 0  # cooling down
    _negatives(core, "App & website", 7, NOW + timedelta(hours=12), timedelta(hours=1))
    assert await alert_spikes(core, outbound, NOW + timedelta(hours=13, minutes=30)) == 1
    with core.session() as session:
        assert len(session.exec(select(SpikeAlert)).all()) == 2


def test_a_busy_topic_needs_a_multiple_of_its_usual_rate(sqlite_core):
    week_before = NOW - timedelta(hours=3) - timedelta(days=7)
    _negatives(sqlite_core, "Delivery", 112, week_before, timedelta(days=7))  # 2 per 3 hours
    _negatives(sqlite_core, "Delivery", 5, NOW - timedelta(hours=2), timedelta(hours=2))
    assert find_spikes(sqlite_core, NOW) == []  # 5 < 3 x 2
    _negatives(sqlite_core, "Delivery", 2, NOW - timedelta(hours=1), timedelta(minutes=30))
    spikes = find_spikes(sqlite_core, NOW)
    assert [(s.topic, s.negative, round(s.usual, 1)) for s in spikes] == [("Delivery", 7, 2.0)]
