"""Spike alerts: a topic's negative feedback running far above its usual rate.

Its usual rate comes from the week before the window; an alert needs both a minimum
count and a multiple of that rate (`UPSIDE_SPIKE_*`), and a topic that alerted stays
quiet for the cool-down. An alert goes out through the send-once notices, keyed by topic
and window, so replicas and retries post it once; a failed post is tried again after its
back-off, and one refused for good is held like every other delivery.
"""

from __future__ import annotations

import logging
from asyncio import to_thread
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import case, func
from sqlmodel import select

from bot.core import Upside
from bot.digests.delivery import DeliveryError, send_once
from bot.messages import Message, Said, Strong, para
from bot.models import Department, FeedbackItem, SpikeAlert, Topic
from bot.ports import Outbound

log = logging.getLogger(__name__)
BASELINE = timedelta(days=7)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Spike:
    """A topic over its usual rate, with the latest of the words behind it."""

    topic_id: int
    topic: str
    department: Department
    negative: int
    usual: float
    latest: str


def find_spikes(core: Upside, now: datetime) -> list[Spike]:
    """Topics whose negative count in the window is a spike, outside their cool-down."""
    settings = core.settings
    window = timedelta(hours=settings.spike_window_hours)
    recent = FeedbackItem.created_at >= now - window
    in_window = func.sum(case((recent, 1), else_=0))
    with core.session() as session:
        cooling = set(
            session.exec(
                select(SpikeAlert.topic_id).where(
                    SpikeAlert.sent_at >= now - timedelta(hours=settings.spike_cooldown_hours)
                )
            )
        )
        rows = session.exec(
            select(FeedbackItem.topic_id, in_window, func.count() - in_window)
            .where(
                FeedbackItem.sentiment == "negative",
                FeedbackItem.topic_id.is_not(None),
                FeedbackItem.deleted_at.is_(None),
                FeedbackItem.created_at >= now - window - BASELINE,
                FeedbackItem.created_at < now,
            )
            .group_by(FeedbackItem.topic_id)
        ).all()
        spikes = []
        for topic_id, negative, before in rows:
            usual = (before or 0) * (window / BASELINE)
            if topic_id in cooling or negative < settings.spike_min_count:
                continue
            if negative < settings.spike_factor * usual:
                continue
            topic = session.get(Topic, topic_id)
            department = session.get(Department, topic.department_id) if topic else None
            if topic is None or department is None:
                continue
            latest = session.exec(
                select(FeedbackItem.display_text)
                .where(FeedbackItem.topic_id == topic_id, FeedbackItem.sentiment == "negative")
                .order_by(FeedbackItem.created_at.desc())
            ).first()
            spikes.append(
                Spike(topic_id, topic.name, department, int(negative), usual, latest or "")
            )
    return spikes


def window_key(topic_id: int, now: datetime, hours: int) -> str:
    """The send-once key of a topic's alert: the topic and the window (of `hours`, counted
    from the epoch) that `now` falls in, the same for every check and retry within it."""
    window = timedelta(hours=hours)
    start = EPOCH + (now - EPOCH) // window * window
    return f"{topic_id}@{start:%Y-%m-%dT%H}"


async def alert_spikes(core: Upside, outbound: Outbound, now: datetime) -> int:
    """Tell each spiking topic's department once; returns how many alerts went out."""
    hours = core.settings.spike_window_hours
    sent = 0
    for spike in await to_thread(find_spikes, core, now):  # never holding up the event loop
        alert = Message.of(
            para(
                "Spike in ",
                Strong(spike.topic),
                f": {spike.negative} negative items in the last {hours} hours, "
                f"against about {spike.usual:.1f} usually.",
            ),
            para("Latest: ", Said(spike.latest[:300])),
        )
        send = partial(outbound.post_alert, spike.department.address, spike.department.name, alert)
        try:
            if not await send_once(core, "spike", window_key(spike.topic_id, now, hours), send):
                continue  # sent already (another process records it), or waiting to retry
        except DeliveryError as exc:
            log.warning("%s; trying again later", exc)
            continue
        with core.session() as session:
            session.add(
                SpikeAlert(
                    topic_id=spike.topic_id,
                    negative=spike.negative,
                    usual=spike.usual,
                    window_end=now,
                    sent_at=now,
                )
            )
        sent += 1
    return sent
