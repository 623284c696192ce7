"""The "Wrong topic?" menu's options: the topics whose names hold what the person typed.

The menu is an external select, so Slack asks here as the person types and every topic can
be found, not only the first 100; names that start with the text come first. Its URL is the
manifest's `settings.interactivity.message_menu_options_url` (the same /slack/events).
"""

from __future__ import annotations

from asyncio import to_thread

from slack_bolt.async_app import AsyncAck, AsyncApp
from sqlmodel import select

from adapters.slack.blocks import MAX_OPTIONS, WRONG_TOPIC, quote_of, topic_options
from adapters.slack.context import SlackContext
from bot.core import Upside
from bot.models import FeedbackItem, Topic


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Answer the menu's option requests (Slack waits 3 seconds for them)."""

    async def options(ack: AsyncAck, payload: dict) -> None:
        quote = quote_of(payload.get("block_id", ""))
        if quote is None:
            await ack(options=[])
            return
        names = await to_thread(matching_topics, ctx.core, quote, payload.get("value", ""))
        await ack(options=topic_options(quote, names))

    app.options(WRONG_TOPIC)(options)


def matching_topics(core: Upside, quote: int, typed: str) -> list[str]:
    """Up to 100 topic names containing `typed` (any case), bar the quote's own topic."""
    wanted = typed.strip().casefold()
    with core.session() as session:
        item = session.get(FeedbackItem, quote)
        own = session.get(Topic, item.topic_id) if item and item.topic_id else None
        names = session.exec(select(Topic.name).order_by(Topic.name)).all()
    found = [n for n in names if wanted in n.casefold() and (own is None or n != own.name)]
    found.sort(key=lambda n: not n.casefold().startswith(wanted))  # stable: A-Z within each
    return found[:MAX_OPTIONS]
