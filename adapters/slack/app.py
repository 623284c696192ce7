"""The Slack app: Bolt's AsyncApp mounted on Upside's aiohttp server at /slack/events.

slack = SlackAdapter(core)
slack.mount(web_app)  # HTTP: Slack signs every request; a bad signature gets 401
web_app.cleanup_ctx.append(slack.socket_mode(app_token))  # or Socket Mode: no public URL
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import select

from adapters.slack import commands, complaints, events, home, interactions, lifecycle, topic_menu
from adapters.slack.context import SlackContext
from adapters.slack.outbound import SlackOutbound, make_client
from bot.commands import Commands
from bot.config import Settings
from bot.core import Upside
from bot.models import Topic
from bot.ports import Outbound

EVENTS_PATH = "/slack/events"
BOT_SCOPES = (  # exactly what the code calls; manifest.json lists the same (a test checks)
    "channels:history",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:write",
    "groups:history",
    "im:write",
    "usergroups:read",
    "users:read",
)


class SlackAdapter:
    """Builds the Bolt app and its listeners.

    With a bot token it serves one workspace; with OAuth credentials instead, any
    workspace that installs it through /slack/install, its tokens kept in Upside's
    database by slack_sdk's SQLAlchemy installation store.
    """

    def __init__(self, core: Upside, outbound: Outbound) -> None:
        settings = core.settings
        if not settings.slack_enabled:
            raise ValueError(
                "Slack needs UPSIDE_SLACK_SIGNING_SECRET and UPSIDE_SLACK_BOT_TOKEN "
                "(or UPSIDE_SLACK_CLIENT_ID and UPSIDE_SLACK_CLIENT_SECRET)"
            )
        assert settings.slack_signing_secret is not None
        self.core = core
        self.client = make_client(settings)
        self.installations: Installations | None = None
        options: dict = {}
        if settings.slack_bot_token is None:
            self.installations = Installations(settings)
            options["oauth_settings"] = self.installations.oauth_settings()
        self.outbound = SlackOutbound(self.client, lambda: _topic_names(core), self._token_for)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            process_before_response=True,  # events are stored before Slack hears back
            **options,
        )
        # commands reach every platform: a Slack admin may post a Teams department's digest
        self.context = SlackContext(core, Commands(core, outbound), self.client)
        for listeners in (commands, complaints, home, events, interactions, topic_menu, lifecycle):
            listeners.register(self.app, self.context)

    async def _token_for(self, workspace: str) -> str | None:
        """The bot token to post with: the client's own in token mode, else the install's."""
        if self.installations is None:
            return None
        return await self.installations.bot_token(workspace)

    def mount(self, web_app: web.Application) -> None:
        """Serve commands, events, shortcuts and interactivity on one URL, as the manifest says;
        in OAuth mode also the install page and the OAuth redirect."""

        async def dispatch(request: web.Request) -> web.Response:
            response = await self.app.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        web_app.router.add_post(EVENTS_PATH, dispatch)
        flow = self.app.oauth_flow
        if flow is None:
            return

        async def install(request: web.Request) -> web.Response:
            response = await flow.handle_installation(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        async def redirect(request: web.Request) -> web.Response:
            response = await flow.handle_callback(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        web_app.router.add_get(flow.install_path, install)
        web_app.router.add_get(flow.redirect_uri_path, redirect)

    def socket_mode(self, app_token: str):
        """An aiohttp cleanup context holding a Socket Mode connection while the server runs."""
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        async def connection(_app: web.Application):
            handler = AsyncSocketModeHandler(self.app, app_token)
            await handler.connect_async()
            yield
            await handler.close_async()

        return connection


class Installations:
    """slack_sdk's async SQLAlchemy installation and state stores on Upside's database."""

    def __init__(self, settings: Settings) -> None:
        assert settings.slack_client_id and settings.slack_client_secret
        self.client_id = settings.slack_client_id
        self.client_secret = settings.slack_client_secret.get_secret_value()
        self.engine = create_async_engine(async_url(settings.database_url))
        self.store = AsyncSQLAlchemyInstallationStore(self.client_id, self.engine)
        self.states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=self.engine)

    def oauth_settings(self) -> AsyncOAuthSettings:
        """Install and redirect paths, the manifest's scopes, and the stores."""
        return AsyncOAuthSettings(
            client_id=self.client_id,
            client_secret=self.client_secret,
            scopes=list(BOT_SCOPES),
            installation_store=self.store,
            state_store=self.states,
            install_path="/slack/install",
            redirect_uri_path="/slack/oauth_redirect",
        )

    async def bot_token(self, workspace: str) -> str | None:
        """The bot token of `workspace`, or of the latest install when none is named."""
        if workspace:
            bot = await self.store.async_find_bot(enterprise_id=None, team_id=workspace)
            return bot.bot_token if bot else None
        bots = self.store.bots
        query = select(bots.c.bot_token).order_by(bots.c.installed_at.desc()).limit(1)
        async with self.engine.connect() as connection:
            return (await connection.execute(query)).scalar_one_or_none()


def async_url(url: str) -> str:
    """The asyncio driver's URL for the same database."""
    if url.startswith("sqlite:"):
        return url.replace("sqlite:", "sqlite+aiosqlite:", 1)
    return url  # postgresql+psycopg serves both


def _topic_names(core: Upside) -> list[str]:
    with core.session() as session:
        return list(session.exec(select(Topic.name).order_by(Topic.name)))
