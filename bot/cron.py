"""When a cron schedule last fell due: the digests and the executive programme both ask."""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

LOOK_BACK = timedelta(days=35)  # long enough for a monthly schedule


def last_fire(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The latest time at or before `now` at which `trigger` fired (within LOOK_BACK)."""
    moment = trigger.get_next_fire_time(None, now - LOOK_BACK)
    latest = None
    while moment is not None and moment <= now:
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return latest
