"""Conversation-style test backends, in the manner of errbot's test backend.

A scenario talks to `Chat` — people type commands, customers post in a channel, and the
scenario reads what the bot answered and posted — and runs unchanged on Slack (signed
requests to Bolt, a fake Web API) and on Teams (signed activities to the CloudAdapter, a
fake Bot Connector). A feature that lands on one platform only fails its scenario there.
"""

from __future__ import annotations

import re
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.core import Upside
from classifiers import Classifier
from tests.fakes.signing import event_body, signed_headers, slash_command_body
from tests.fakes.slack_api import RESPONSE_URL_METHOD
from tests.teams_harness import ADMIN_AAD, CHANNEL, TeamsHarness, person, teams_server
from tests.test_slack_app import ADMIN, SECRET, Harness, fixture, slack_server

PEOPLE = ("admin", "anyone", "dana", "alex")
_MARKUP = re.compile(r"[*`]|\\(?=[\\`*_\[\]()~#+\-.!<>])")


def readable(text: str) -> str:
    """A reply without its platform's emphasis and escapes, for assertions on the words."""
    text = re.sub(r"<@(\w+)>", r"@\1", text)
    text = re.sub(r"<at>([^<]*)</at>", r"@\1", text)
    text = re.sub(r"</?code>", "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _MARKUP.sub("", text)


class Chat(ABC):
    """One platform as the scenarios see it."""

    platform: str
    core: Upside
    channel: str  # the channel customers' messages arrive in

    @abstractmethod
    async def command(self, text: str, who: str = "anyone", in_channel: bool = False) -> str:
        """Type a command (to the bot in a DM, or in the channel); the reply, made readable."""

    @abstractmethod
    def mention(self, who: str) -> str:
        """How `who` is @mentioned inside a command on this platform."""

    @abstractmethod
    def channel_mention(self) -> str:
        """How `channel` is named inside a command on this platform."""

    @abstractmethod
    async def customer_says(self, text: str) -> None:
        """A message arrives in `channel` (a support tool's or a person's)."""

    @abstractmethod
    def channel_posts(self) -> list[str]:
        """What the bot posted into `channel` on its own (digests, alerts), as text."""

    @abstractmethod
    def thread_replies(self) -> list[str]:
        """What the bot answered in the threads of customers' messages."""

    @abstractmethod
    def user_id(self, who: str) -> str:
        """`who`'s id on this platform, as Upside stores it."""


class SlackChat(Chat):
    """Slack: `/upside` slash commands and Events API messages, all signed."""

    platform = "slack"

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.core = harness.core
        self.channel = "C0FEEDBACK"
        self._ids = {"admin": ADMIN, "anyone": "U1", "dana": "UDANA", "alex": "UALEX"}
        self._events = 0

    def user_id(self, who: str) -> str:
        return self._ids[who]

    def mention(self, who: str) -> str:
        return f"<@{self._ids[who]}|{who}>"

    def channel_mention(self) -> str:
        return f"<#{self.channel}|feedback>"

    async def command(self, text: str, who: str = "anyone", in_channel: bool = False) -> str:
        slack = self.harness.slack
        before = len(slack.calls_to(RESPONSE_URL_METHOD))
        body = slash_command_body(
            text,
            user_id=self._ids[who],
            channel_id=self.channel if in_channel else f"D{self._ids[who]}",
            response_url=slack.response_url,
            trigger_id=f"trigger-{time.monotonic_ns()}",
        )
        assert await self.harness.post(body) == 200
        assert await self.harness.wait(lambda: len(slack.calls_to(RESPONSE_URL_METHOD)) > before)
        return readable(slack.calls_to(RESPONSE_URL_METHOD)[-1].args["text"])

    async def customer_says(self, text: str) -> None:
        self._events += 1
        message = fixture("message_channel") | {
            "channel": self.channel,
            "text": text,
            "ts": f"17000000{self._events:02d}.000100",
        }
        body = event_body(message, event_id=f"EvScenario{self._events}")
        response = await self.harness.http.post(
            "/slack/events", data=body, headers=signed_headers(body, SECRET)
        )
        assert response.status == 200

    def channel_posts(self) -> list[str]:
        return [
            readable(call.args.get("text", ""))
            for call in self.harness.slack.calls_to("chat.postMessage")
            if call.args.get("channel") == self.channel
            and not call.args.get("thread_ts")
            and not call.failed
        ]

    def thread_replies(self) -> list[str]:
        return [
            readable(call.args.get("text", ""))
            for call in self.harness.slack.calls_to("chat.postMessage")
            if call.args.get("thread_ts") and not call.failed
        ]


class TeamsChat(Chat):
    """Teams: messages to the bot (1:1, or after @Upside in a channel) and channel messages."""

    platform = "teams"

    def __init__(self, harness: TeamsHarness) -> None:
        self.harness = harness
        self.core = harness.core
        self.channel = CHANNEL
        self._ids = {
            "admin": ADMIN_AAD,
            "anyone": "b1b1b1b1-1111-4222-8333-444455556666",
            "dana": "d2d2d2d2-1111-4222-8333-444455556666",
            "alex": "e3e3e3e3-1111-4222-8333-444455556666",
        }
        for who, aad in self._ids.items():
            harness.add_member(aad, who.title())
        harness.known[CHANNEL] = "Feedback"

    def user_id(self, who: str) -> str:
        return self._ids[who]

    def mention(self, who: str) -> str:
        return f"<at>{who.title()}</at>"

    def channel_mention(self) -> str:
        return "<at>Feedback</at>"

    async def command(self, text: str, who: str = "anyone", in_channel: bool = False) -> str:
        return readable(await self.harness.say(text, self._ids[who], in_channel))

    async def customer_says(self, text: str) -> None:
        activity = self.harness.activity("message_channel_workflow")
        activity["conversation"]["id"] = f"{CHANNEL};messageid={activity['id']}"
        activity["text"] = text
        activity["attachments"] = []
        assert await self.harness.send(activity) == 200

    def channel_posts(self) -> list[str]:
        return [_teams_text(body) for body in self.harness.posts(CHANNEL)]

    def thread_replies(self) -> list[str]:
        return [_teams_text(body) for body in self.harness.thread_posts(CHANNEL)]


def _teams_text(activity: dict) -> str:
    """An activity's words: its text, or its card's text blocks."""
    from adapters.teams.activity import card_text

    cards = [a.get("content") for a in activity.get("attachments") or []]
    return readable(activity.get("text") or card_text(cards))


@asynccontextmanager
async def slack_chat(tmp_path: Path, classifier: Classifier) -> AsyncIterator[SlackChat]:
    """A server with Slack on, and the fake Web API behind it."""
    async with slack_server(tmp_path, classifier) as harness:
        yield SlackChat(harness)


@asynccontextmanager
async def teams_chat(tmp_path: Path, classifier: Classifier) -> AsyncIterator[TeamsChat]:
    """A server with Teams on, the fake identity and connector behind it."""
    async with teams_server(tmp_path, classifier) as harness:
        yield TeamsChat(harness)


__all__ = ["PEOPLE", "Chat", "person", "slack_chat", "teams_chat"]
