"""The app's own lifecycle in a workspace: uninstalled, tokens revoked, rate limited, re-installed.

`app_uninstalled` and `tokens_revoked` (of the bot's token) disable the installation (in
OAuth mode its tokens leave the installation store) and hold every delivery there with the
reason, telling the admins once. A re-install (OAuth) or a new bot token (token mode, seen
at start) releases the hold, and the next digests cover the gap once. `app_rate_limited`
(more than 30,000 events an hour) is acknowledged and logged: Slack drops events meanwhile,
and a 404 would not bring them back.
"""

from __future__ import annotations

import logging
from asyncio import to_thread

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.oauth.async_callback_options import AsyncSuccessArgs
from slack_bolt.response import BoltResponse

from adapters.slack.context import SOURCE, SlackContext
from bot.digests.attention import tell_admins
from bot.digests.holds import credential_of, hold, release
from bot.ports import Address

log = logging.getLogger(__name__)


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the lifecycle listeners; resume deliveries a new token or a re-install fixes."""
    store = app.installation_store
    revocations = AsyncTokenRevocationListeners(store) if store is not None else None
    if app.oauth_flow is None:  # token mode: one token, from the settings, for every workspace
        release(ctx.core, Address(SOURCE, ""), keep_credential=credential_of(ctx.client.token))
    else:
        _resume_on_install(app, ctx)

    async def disable(team: str, reason: str) -> None:
        workspace = team if app.oauth_flow is not None else ""  # token mode: all workspaces
        where = Address(SOURCE, "", workspace)
        concern = await to_thread(hold, ctx.core, where, reason, credential_of(ctx.client.token))
        log.warning("Slack deliveries in %s are held: %s", team or "every workspace", reason)
        if concern is not None:
            await tell_admins(ctx.core, ctx.commands.outbound, concern)

    @app.event("app_uninstalled")
    async def on_uninstalled(context: AsyncBoltContext) -> None:
        if revocations is not None:
            await revocations.handle_app_uninstalled_events(context)
        await disable(context.team_id or "", "Upside was uninstalled from the workspace")

    @app.event("tokens_revoked")
    async def on_tokens_revoked(event: dict, context: AsyncBoltContext) -> None:
        if revocations is not None:
            await revocations.handle_tokens_revoked_events(event, context)
        if (event.get("tokens") or {}).get("bot"):
            await disable(context.team_id or "", "Slack revoked Upside's bot token")

    @app.middleware
    async def on_rate_limited(body: dict, next) -> BoltResponse | None:
        if body.get("type") != "app_rate_limited":
            return await next()
        log.warning(
            "Slack rate-limits Upside's events in %s (minute %s): events are dropped meanwhile",
            body.get("team_id"),
            body.get("minute_rate_limited"),
        )
        return BoltResponse(status=200, body="")


def _resume_on_install(app: AsyncApp, ctx: SlackContext) -> None:
    """Release a workspace's hold once it installs the app again (the OAuth flow's success)."""
    flow = app.oauth_flow
    assert flow is not None
    succeeded = flow.success_handler

    async def resume(args: AsyncSuccessArgs) -> BoltResponse:
        team = args.installation.team_id or ""
        await to_thread(release, ctx.core, Address(SOURCE, "", team))
        return await succeeded(args)

    flow.success_handler = resume
