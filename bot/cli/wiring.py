"""Wiring the running app: which adapters serve, and where the core's messages go.

One process may serve Slack and Teams at once; the core reaches both through one
`Switchboard`, so a Slack admin's `digest now` for a department that posts in Teams
goes to Teams.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.cli.output import console
from bot.core import Upside
from bot.digests.attention import Watchful
from bot.intake.worker import STOP_GRACE
from bot.ports import Outbound, Switchboard
from bot.scheduler import DigestScheduler

log = logging.getLogger(__name__)


def worker_outbound(core: Upside) -> Outbound | None:
    """The configured chat platforms behind one outbound, with nothing mounted: what a
    worker process posts digests and alerts through; None when no platform is configured."""
    switchboard = Switchboard({})
    outbound = Watchful(core, switchboard)
    if core.settings.slack_enabled:
        from adapters.slack.app import SlackAdapter

        switchboard.add("slack", SlackAdapter(core, outbound).outbound)
    if core.settings.teams_enabled:
        from adapters.teams.app import TeamsAdapter

        switchboard.add("teams", TeamsAdapter(core, outbound).outbound)
    return outbound if switchboard.platforms else None


def outbound_for(core: Upside) -> Outbound:
    """Where messages go from the command line: the configured platforms, else this terminal."""
    outbound = worker_outbound(core)
    if outbound is not None:
        return outbound
    from adapters.console import ConsoleOutbound

    return ConsoleOutbound(console)


@dataclass
class Served:
    """What `mount_adapters` attached: each platform's adapter, and one outbound for them all."""

    switchboard: Switchboard
    outbound: Outbound
    adapters: dict[str, Any] = field(default_factory=dict)


def mount_adapters(
    application: web.Application,
    core: Upside,
    teams_credentials: Any = None,
    schedule: bool = True,
) -> Served:
    """Attach every configured channel adapter to the web app, and (unless `schedule` is
    False: workers schedule instead) the scheduler behind them.

    `teams_credentials` replaces how Teams' outbound tokens are made (tests use a local one).
    """
    from adapters import webhook

    webhook.register(application, core)
    settings = core.settings
    if settings.webhook_token is None:
        console.print("[yellow]UPSIDE_WEBHOOK_TOKEN is unset: the webhook refuses every call[/]")
    switchboard = Switchboard({})
    served = Served(switchboard, Watchful(core, switchboard))
    if settings.slack_enabled:
        from adapters.slack.app import SlackAdapter

        slack = served.adapters["slack"] = SlackAdapter(core, served.outbound)
        slack.mount(application)
        switchboard.add("slack", slack.outbound)
        if settings.slack_app_token is not None:
            token = settings.slack_app_token.get_secret_value()
            application.cleanup_ctx.append(slack.socket_mode(token))
    else:
        console.print("[yellow]Slack is off: set UPSIDE_SLACK_BOT_TOKEN and _SIGNING_SECRET[/]")
    if settings.teams_enabled:
        from adapters.teams.app import TeamsAdapter

        teams = TeamsAdapter(core, served.outbound, credentials_factory=teams_credentials)
        served.adapters["teams"] = teams
        teams.mount(application)
        switchboard.add("teams", teams.outbound)
    else:
        console.print(
            "[yellow]Teams is off: set UPSIDE_TEAMS_APP_ID, _APP_PASSWORD and _TENANT_ID[/]"
        )
    if switchboard.platforms and schedule:
        application.cleanup_ctx.append(scheduling(core, served.outbound))
    return served


def scheduling(
    core: Upside, outbound: Outbound
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context running the digest scheduler while the server runs."""

    async def context(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(DigestScheduler(core, outbound).run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context


async def run_worker(core: Upside) -> None:
    """`upside worker`: classify and schedule until SIGTERM or SIGINT, then finish the batch
    in hand and return (within `STOP_GRACE` seconds)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    outbound = worker_outbound(core)
    worker = await asyncio.to_thread(lambda: core.worker)  # loads the model
    classifying = asyncio.create_task(worker.run_forever(core.settings.worker_interval))
    scheduler = DigestScheduler(core, outbound) if outbound is not None else None
    scheduling_task = asyncio.create_task(scheduler.run()) if scheduler else None
    log.info("worker %s is classifying%s", worker.name, " and may schedule" if scheduler else "")
    await stopping.wait()
    log.info("stopping: finishing the batch in hand")
    worker.stop()
    if scheduling_task is not None:
        scheduling_task.cancel()
    await asyncio.wait(
        [t for t in (classifying, scheduling_task) if t is not None], timeout=STOP_GRACE
    )
