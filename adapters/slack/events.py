"""Events: messages in feedback channels, their edits and deletions (the Home tab is `home`'s).

Only real messages (`FEEDBACK_SUBTYPES`) become feedback; Slack's many system notices are
acknowledged and skipped. A malformed event is acknowledged and logged: retrying it cannot help.
A retried delivery (same event id) of an event already handled is acknowledged and skipped;
an event is remembered only after its effects are stored, so a failure is retried, not lost.
"""

from __future__ import annotations

import logging
import re
from asyncio import to_thread
from collections.abc import Mapping
from typing import Any, TypeGuard

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse

from adapters.slack.context import SOURCE, SlackContext, external_id, feedback_from_message
from adapters.slack.text import FEEDBACK_SUBTYPES, is_tombstone

log = logging.getLogger(__name__)
_TS = re.compile(r"\d+\.\d+")  # a message's timestamp, its id within the channel


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the event listeners and the de-duplication of redelivered events."""

    @app.middleware
    async def skip_redelivered(body: dict, next) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id and await to_thread(ctx.core.seen, event_id):
            return BoltResponse(status=200, body="")
        return await next()

    async def in_feedback_channel(event: dict) -> bool:
        """Whether the event is about a feedback channel (malformed ones are logged)."""
        channel = event.get("channel")
        if not isinstance(channel, str) or not channel:
            log.warning("slack %s event without a channel; skipped", _kind(event))
            return False
        return channel in await to_thread(ctx.feedback_channels)

    async def on_message(ack: AsyncAck, body: dict, event: dict, context: AsyncBoltContext) -> None:
        # stored before Slack hears back, with the names known now: Slack is never waited on
        if await in_feedback_channel(event) and _has_ts(event, "ts"):
            text = await ctx.words(event, wait=0)
            await to_thread(_ingest, ctx, _team(body, context), event, text)
        await to_thread(ctx.core.remember, body["event_id"])
        await ack()

    async def on_change(ack: AsyncAck, body: dict, event: dict, context: AsyncBoltContext) -> None:
        message = event.get("message")
        if await in_feedback_channel(event) and _has_ts(message, "ts"):
            key = external_id(_team(body, context), event["channel"], message["ts"])
            if is_tombstone(message):  # a deleted message that had replies
                await to_thread(ctx.core.delete, SOURCE, key)
            else:
                await to_thread(ctx.core.edit, SOURCE, key, await ctx.words(message, wait=0))
        await to_thread(ctx.core.remember, body["event_id"])
        await ack()

    async def name_people(body: dict, event: dict, context: AsyncBoltContext) -> None:
        """After the ack: people Slack had not named yet are named in the stored words."""
        message = event.get("message", event)
        if not (isinstance(message, Mapping) and ctx.mentions_people(message)):
            return
        if not (await in_feedback_channel(event) and _has_ts(message, "ts")):
            return
        if is_tombstone(message):
            return
        key = external_id(_team(body, context), event["channel"], message["ts"])
        await to_thread(ctx.core.edit, SOURCE, key, await ctx.words(message))

    app.event({"type": "message", "subtype": FEEDBACK_SUBTYPES})(ack=on_message, lazy=[name_people])
    app.event({"type": "message", "subtype": "message_changed"})(ack=on_change, lazy=[name_people])

    @app.event({"type": "message", "subtype": "message_deleted"})
    async def on_delete(body: dict, event: dict, context: AsyncBoltContext) -> None:
        if await in_feedback_channel(event) and _has_ts(event, "deleted_ts"):
            key = external_id(_team(body, context), event["channel"], event["deleted_ts"])
            await to_thread(ctx.core.delete, SOURCE, key)
        await to_thread(ctx.core.remember, body["event_id"])

    @app.event("message")
    async def on_notice(event: dict) -> None:
        """System notices (joins, pins, topic changes…): acknowledged, never feedback."""
        log.debug("slack %s message skipped", _kind(event))


def _ingest(ctx: SlackContext, team: str, event: dict, text: str) -> None:
    """Store a new message; one with no words (a bare file, say) is logged and skipped."""
    if not text:
        log.info("slack message %s in %s has no words; skipped", event["ts"], event["channel"])
        return
    report = ctx.core.ingest([feedback_from_message(team, event["channel"], event, text)])
    log.info("slack message %s in %s: %s", event["ts"], event["channel"], report.results[0].outcome)


def _has_ts(message: Any, key: str) -> TypeGuard[Mapping[str, Any]]:
    """Whether `message` names the message it is about by a Slack timestamp; logs the malformed."""
    if isinstance(message, Mapping) and _TS.fullmatch(str(message.get(key, ""))):
        return True
    log.warning("slack message event without %s; skipped: %.500r", key, message)
    return False


def _kind(event: Mapping[str, Any]) -> str:
    """An event's type and subtype, for the log."""
    return f"{event.get('type')}/{event.get('subtype') or 'plain'}"


def _team(body: dict, context: AsyncBoltContext) -> str:
    """The workspace an event comes from, part of every message's id."""
    return body.get("team_id") or context.team_id or ""
