"""A digest period is posted once, whoever asks and however often."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

from rich.console import Console
from sqlmodel import select

from adapters.console import ConsoleOutbound
from bot.digests.delivery import deliver, retry_failed
from bot.models import DigestRun, utcnow


async def test_a_period_is_posted_once_even_when_asked_twice_at_once(core):
    screen = io.StringIO()
    outbound = ConsoleOutbound(Console(file=screen, width=100))
    department = core.department("Logistics")
    end = utcnow().replace(microsecond=0)
    start = end - timedelta(days=1)
    runs = await asyncio.gather(
        deliver(core, outbound, department, start, end),
        deliver(core, outbound, department, start, end),
    )
    again = await deliver(core, outbound, department, start, end)  # a restart's retry
    assert screen.getvalue().count("╭─ Logistics") == 1
    assert {run.id for run in [*runs, again]} == {runs[0].id}
    with core.session() as session:
        stored = session.exec(select(DigestRun)).one()
    assert stored.status == "sent" and stored.attempts == 1 and stored.sent_at
    assert await retry_failed(core, outbound) == 0
