"""The Teams app: the bot behind `POST /api/teams/messages`, its outbound side and its charts.

    teams = TeamsAdapter(core, switchboard)   # refuses to start without app id, password, tenant
    teams.mount(web_app)

Every botbuilder import stays in this package, so moving to the SDK's successor (the
Microsoft 365 Agents SDK, same concepts on aiohttp) touches nothing else.
"""

from __future__ import annotations

import hashlib
from asyncio import to_thread
from datetime import datetime

from aiohttp import web
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlmodel import select

from adapters.teams.bot import UpsideBot
from adapters.teams.connector import TeamsSender
from adapters.teams.host import ROUTE, TeamsHost
from adapters.teams.outbound import TeamsOutbound
from bot.commands import Commands
from bot.core import Upside
from bot.digests.chart import sentiment_chart
from bot.digests.digest import Digest
from bot.models import Topic
from bot.ports import Outbound

CHARTS = "/api/teams/charts/{token}"
CHART_DAYS_VALID = 30  # a digest's chart stays viewable this long, then the link expires


class TeamsAdapter:
    """Builds the CloudAdapter, the bot and the outbound side from the settings."""

    def __init__(self, core: Upside, outbound: Outbound, **host_options: object) -> None:
        settings = core.settings
        if not settings.teams_enabled:
            raise ValueError(
                "Teams needs UPSIDE_TEAMS_APP_ID, UPSIDE_TEAMS_APP_PASSWORD "
                "and UPSIDE_TEAMS_TENANT_ID"
            )
        assert settings.teams_app_id and settings.teams_app_password
        self.core = core
        self.host = TeamsHost(settings, **host_options)
        self.sender = TeamsSender(self.host.adapter, settings.teams_app_id, core.engine)
        secret = hashlib.sha256(
            b"upside-charts:" + settings.teams_app_password.get_secret_value().encode()
        ).hexdigest()
        self.charts = URLSafeTimedSerializer(secret, salt="digest-chart")
        self.outbound = TeamsOutbound(self.sender, lambda: _topic_names(core), self.chart_url)
        # commands reach every platform: a Teams admin may post a Slack department's digest
        self.bot = UpsideBot(core, Commands(core, outbound), self.sender)

    def mount(self, web_app: web.Application) -> None:
        """Serve Teams' activities and the digests' chart images."""
        web_app.router.add_post(ROUTE, self.host.handler(self.bot))
        web_app.router.add_get(CHARTS, self._chart)

    def chart_url(self, digest: Digest) -> str | None:
        """An unguessable, expiring https URL of the digest's chart; None without a public URL."""
        base = self.core.settings.public_url.rstrip("/")
        if not base.startswith("https://"):
            return None
        token = self.charts.dumps(
            [digest.department, digest.start.isoformat(), digest.end.isoformat()]
        )
        return base + CHARTS.format(token=token)

    async def _chart(self, request: web.Request) -> web.Response:
        try:
            png = await to_thread(self._draw, request.match_info["token"])
        except (BadData, LookupError, ValueError, TypeError):
            raise web.HTTPNotFound(text="no such chart, or its link has expired") from None
        return web.Response(
            body=png,
            content_type="image/png",
            headers={"Cache-Control": "private, max-age=86400"},
        )

    def _draw(self, token: str) -> bytes:
        """The chart a token names, drawn from the database as it is now."""
        name, start, end = self.charts.loads(token, max_age=CHART_DAYS_VALID * 86_400)
        department = self.core.department(name)
        start, end = datetime.fromisoformat(start), datetime.fromisoformat(end)
        return sentiment_chart(self.core.digest(department, start, end))


def _topic_names(core: Upside) -> list[str]:
    with core.session() as session:
        return list(session.exec(select(Topic.name).order_by(Topic.name)))
