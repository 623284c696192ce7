"""Spike alerts: far above the usual rate, once per cool-down, never lost to a failed post,
posted once by many checkers, and held like every notice when refused for good."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import time_machine
from rich.console import Console
from sqlmodel import select

from adapters.console import ConsoleOutbound
from bot.digests.attention import Watchful
from bot.digests.spikes import alert_spikes, find_spikes
from bot.messages import Message
from bot.models import FeedbackItem, Notice, SpikeAlert, Topic
from bot.ports import Address, Posted, Unreachable

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


class Failing(ConsoleOutbound):
    """Posts alerts to a screen after failing as told: a connection error or a refusal."""

    def __init__(self, failure: Exception | None) -> None:
        super().__init__(Console(file=io.StringIO(), width=200))
        self.failure, self.tries = failure, 0

    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        self.tries += 1
        await asyncio.sleep(0.01)  # a real post takes a while: other checkers run meanwhile
        if self.failure is not None:
            raise self.failure
        return await super().post_alert(channel, department, message)


def _spike_notices(core) -> list[Notice]:
    with core.session() as session:
        return list(session.exec(select(Notice).where(Notice.kind == "spike")))


async def test_a_failed_alert_is_retried_later_and_posted_once_by_many_checkers(core):
    _negatives(core, "App & website", 7, NOW - timedelta(hours=2), timedelta(hours=2))
    outbound = Failing(ConnectionError("Slack is away"))
    with time_machine.travel(NOW, tick=False):
        assert await alert_spikes(core, outbound, NOW) == 0
    [notice] = _spike_notices(core)
    assert notice.status == "failed" and "Slack is away" in notice.error
    outbound.failure = None
    later = NOW + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):  # two replicas check at once
        sent = await asyncio.gather(*(alert_spikes(core, outbound, later) for _ in range(2)))
    assert sorted(sent) == [0, 1] and outbound.tries == 2
    assert [n.status for n in _spike_notices(core)] == ["sent"]


async def test_a_refused_alert_is_held_not_retried(sqlite_core):
    _negatives(sqlite_core, "Delivery", 7, NOW - timedelta(hours=2), timedelta(hours=2))
    failing = Failing(Unreachable("Slack says is_archived"))
    outbound = Watchful(sqlite_core, failing)
    for minutes in (0, 1, 5, 60):
        moment = NOW + timedelta(minutes=minutes)
        with time_machine.travel(moment, tick=False):
            assert await alert_spikes(sqlite_core, outbound, moment) == 0
    assert failing.tries == 1
    assert [n.status for n in _spike_notices(sqlite_core)] == ["held"]
