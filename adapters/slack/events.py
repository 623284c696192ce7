"""Events: messages in feedback channels (edits and deletions too) and the App Home tab.

A retried delivery (same event id) of an event already handled is acknowledged and skipped;
an event is remembered only after its effects are stored, so a failure is retried, not lost.
"""

from __future__ import annotations

import logging
from asyncio import to_thread

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from adapters.slack import home
from adapters.slack.context import SOURCE, SlackContext, external_id, feedback_from_message

log = logging.getLogger(__name__)
IGNORED_SUBTYPES = {"channel_join", "channel_leave", "channel_topic", "channel_purpose"}


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the event listeners and the de-duplication of redelivered events."""

    @app.middleware
    async def skip_redelivered(body: dict, next) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and await to_thread(ctx.core.seen, event_id):
            return BoltResponse(status=200, body="")
        return await next()

    @app.event("message")
    async def on_message(body: dict, event: dict, context: AsyncBoltContext) -> None:
        channel = event.get("channel", "")
        if channel in await to_thread(ctx.feedback_channels):
            await to_thread(_store, ctx, body.get("team_id") or context.team_id or "", event)
        await to_thread(ctx.core.remember, body["event_id"])

    @app.event("app_home_opened")
    async def on_home(event: dict, body: dict) -> None:
        if event.get("tab", "home") == "home":
            await home.publish(ctx, event["user"])
        await to_thread(ctx.core.remember, body["event_id"])


def _store(ctx: SlackContext, team: str, event: dict) -> None:
    """Ingest a new message, apply an edit, or record a deletion."""
    channel, subtype = event["channel"], event.get("subtype")
    if subtype == "message_changed":
        message = event["message"]
        ctx.core.edit(SOURCE, external_id(team, channel, message["ts"]), message.get("text", ""))
    elif subtype == "message_deleted":
        ctx.core.delete(SOURCE, external_id(team, channel, event["deleted_ts"]))
    elif subtype not in IGNORED_SUBTYPES and event.get("text", "").strip():
        report = ctx.core.ingest([feedback_from_message(team, channel, event)])
        log.info("slack message %s in %s: %s", event["ts"], channel, report.results[0].outcome)
