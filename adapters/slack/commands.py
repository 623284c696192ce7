"""`/upside`: acknowledged at once, run after, answered privately through the response URL."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from adapters.slack.context import SlackContext
from adapters.slack.markup import command_text, mrkdwn
from bot.commands import Invocation


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the `/upside` command."""

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def run(body: dict, respond: AsyncRespond) -> None:
        invocation = Invocation(
            actor=await ctx.actor(body["user_id"], body.get("team_id", "")),
            text=command_text(body.get("text", "")),  # "R&amp;D" was typed as "R&D"
            channel_id=body.get("channel_id", ""),
            invocation_id=body.get("trigger_id") or f"{body['user_id']}:{body.get('text', '')}",
            private=True,  # answered ephemerally
        )
        reply = await ctx.commands.run(invocation)
        await respond(text=mrkdwn(reply), response_type="ephemeral")

    app.command("/upside")(ack=acknowledge, lazy=[run])
