"""Posting to Teams: digests, alerts, scoreboards and complaints as Adaptive Cards.

Rendering happens here; `TeamsSender` carries the activities (references, 1:1s,
retries, dead conversations). The digest's chart is a PNG Upside serves under an
unguessable, expiring URL (see `charts`), which keeps the card far below 28 KB.
"""

from __future__ import annotations

from asyncio import to_thread
from collections.abc import Callable

from botbuilder.core import MessageFactory
from botbuilder.schema import Activity, Attachment

from adapters.teams import activity as read
from adapters.teams import cards
from adapters.teams.connector import TeamsSender
from adapters.teams.markup import render
from bot.digests.digest import Digest
from bot.executives.views import ComplaintView, Standing
from bot.messages import Message
from bot.ports import Address, Outbound, Posted


class TeamsOutbound(Outbound):
    """Reaches people in Teams; `Unreachable` when Teams says the bot is gone for good."""

    def __init__(
        self,
        sender: TeamsSender,
        topic_names: Callable[[], list[str]],
        chart_url: Callable[[Digest], str | None],
    ) -> None:
        self.sender = sender
        self.topic_names = topic_names
        self.chart_url = chart_url

    async def post_digest(self, channel: Address, digest: Digest) -> Posted:
        """The digest card, with its chart and "Wrong topic?" on every quote."""
        topics = await to_thread(self.topic_names)
        card = cards.digest_card(digest, topics, self.chart_url(digest))
        return await self.sender.send(channel, card_message(card))

    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        """A spike alert card in the department's channel."""
        return await self.sender.send(channel, card_message(cards.alert_card(department, message)))

    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        """The month's scoreboard card in the leadership channel."""
        names = {s.user_id: s.name for s in standings}
        card = cards.scoreboard_card(month, standings, names)
        return await self.sender.send(channel, card_message(card))

    async def send_direct(self, person: Address, message: Message) -> Posted:
        """A 1:1 message, opening the chat if Upside has none with them yet."""
        return await self.sender.send(person, text_message(message))

    async def send_complaint(self, person: Address, complaint: ComplaintView, intro: str) -> Posted:
        """The complaint card with Claim, Release and Resolve, in the executive's 1:1."""
        card = cards.complaint_card(complaint, intro)
        return await self.sender.send(person, card_message(card))

    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        """Reply in the thread of the Teams message `link` points at."""
        target = read.thread_of(link)
        if target is None:
            raise ValueError(f"not a Teams message link: {link}")
        channel, root = target
        return await self.sender.reply(channel, root, text_message(message))


def text_message(message: Message) -> Activity:
    """A message as a Teams markdown activity, mentions included."""
    text, entities = render(message)
    activity = MessageFactory.text(text)
    activity.text_format = "markdown"
    activity.entities = entities
    return activity


def card_message(card: dict) -> Activity:
    """A card as a Teams message activity."""
    activity = MessageFactory.attachment(Attachment(content_type=cards.CONTENT_TYPE, content=card))
    activity.summary = card.get("fallbackText", "")
    return activity
