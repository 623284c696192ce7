"""What every Slack listener needs: the core, the command router, roles and the outbound side."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.markup import unescape_mrkdwn
from bot.commands import Actor, Commands
from bot.core import Upside
from bot.ports import Address, InboundFeedback

SOURCE = "slack"
GROUP_TTL = 300.0  # seconds an admin group's membership is trusted before asking Slack again


def external_id(team: str, channel: str, ts: str) -> str:
    """The id of a Slack message: unique across workspaces and channels."""
    return f"{team}:{channel}:{ts}"


def permalink(channel: str, ts: str) -> str:
    """A link back to the message (Slack redirects it inside the workspace)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def feedback_from_message(team: str, channel: str, message: dict) -> InboundFeedback:
    """A Slack message (a person's or an integration's) as feedback."""
    ts = message["ts"]
    author = message.get("user") or message.get("username") or message.get("bot_id", "")
    return InboundFeedback(
        source=SOURCE,
        external_id=external_id(team, channel, ts),
        text=unescape_mrkdwn(message.get("text", "")),  # as the customer wrote it
        channel=channel,
        author=author,
        created_at=datetime.fromtimestamp(float(ts), UTC),
        link=permalink(channel, ts),
    )


def person(body: dict) -> Address:
    """Who clicked or submitted, from an interaction payload."""
    user = body["user"]
    return Address(SOURCE, user["id"], user.get("team_id") or body.get("team", {}).get("id", ""))


@dataclass
class SlackContext:
    """Shared state of the Slack adapter."""

    core: Upside
    commands: Commands
    client: AsyncWebClient
    _group: tuple[float, frozenset[str]] = field(default=(0.0, frozenset()))

    async def actor(self, user_id: str, team: str = "") -> Actor:
        """Who `user_id` is to Upside: admins by id or by membership of the admin group."""
        settings = self.core.settings
        who = Address(SOURCE, user_id, team)
        if user_id in settings.ids(settings.slack_admins):
            return Actor(who, is_admin=True)
        return Actor(who, is_admin=user_id in await self._admin_group())

    async def _admin_group(self) -> frozenset[str]:
        group = self.core.settings.slack_admin_group
        if not group:
            return frozenset()
        fetched_at, members = self._group
        if time.monotonic() - fetched_at > GROUP_TTL:
            response = await self.client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users", []))
            self._group = (time.monotonic(), members)
        return members

    def feedback_channels(self) -> set[str]:
        """Channels whose messages are feedback: configured ones and those admins watch."""
        settings = self.core.settings
        return set(settings.ids(settings.slack_feedback_channels)) | self.core.watched(SOURCE)
