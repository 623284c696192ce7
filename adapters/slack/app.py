"""The Slack app: Bolt's AsyncApp mounted on Upside's aiohttp server at /slack/events.

slack = SlackAdapter(core)
slack.mount(web_app)          # HTTP: Slack signs every request; bad signatures get 401
await slack.socket_mode()     # or Socket Mode, for workspaces without a public URL
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from sqlmodel import select

from adapters.slack import commands, events, interactions
from adapters.slack.context import SlackContext
from adapters.slack.outbound import SlackOutbound, make_client
from bot.commands import Commands
from bot.core import Upside
from bot.models import Topic

EVENTS_PATH = "/slack/events"


class SlackAdapter:
    """Builds the Bolt app for a single workspace (token mode) and its listeners."""

    def __init__(self, core: Upside) -> None:
        settings = core.settings
        if not settings.slack_enabled:
            raise ValueError("Slack needs UPSIDE_SLACK_BOT_TOKEN and UPSIDE_SLACK_SIGNING_SECRET")
        assert settings.slack_signing_secret is not None
        self.client = make_client(settings)
        self.outbound = SlackOutbound(self.client, lambda: _topic_names(core))
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            process_before_response=True,  # events are stored before Slack hears back
        )
        self.context = SlackContext(core, Commands(core, self.outbound), self.client)
        for listeners in (commands, events, interactions):
            listeners.register(self.app, self.context)

    def mount(self, web_app: web.Application) -> None:
        """Serve commands, events, shortcuts and interactivity on one URL, as the manifest says."""

        async def dispatch(request: web.Request) -> web.Response:
            response = await self.app.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        web_app.router.add_post(EVENTS_PATH, dispatch)

    async def socket_mode(self, app_token: str) -> None:
        """Connect over Socket Mode and return once connected."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        await AsyncSocketModeHandler(self.app, app_token).connect_async()


def _topic_names(core: Upside) -> list[str]:
    with core.session() as session:
        return list(session.exec(select(Topic.name).order_by(Topic.name)))
