"""What every Slack listener needs: the core, the command router, roles, people's names and the
outbound side."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.text import mentioned_users, message_markup, readable
from bot.commands import Actor, Commands
from bot.core import Upside
from bot.ports import Address, InboundFeedback

log = logging.getLogger(__name__)

SOURCE = "slack"
GROUP_TTL = 300.0  # seconds an admin group's membership is trusted before asking Slack again
GROUP_RETRY = 60.0  # seconds before asking again for a group Slack could not give
NAME_TTL = 3600.0  # seconds a person's name is trusted before asking Slack again
NAME_RETRY = 300.0  # seconds before asking again for a name Slack could not give
NAME_WAIT = 2.0  # seconds a listener that has been acknowledged waits for names
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)  # Slack said no or was away


def external_id(team: str, channel: str, ts: str) -> str:
    """The id of a Slack message: unique across workspaces and channels."""
    return f"{team}:{channel}:{ts}"


def permalink(channel: str, ts: str) -> str:
    """A link back to the message (Slack redirects it inside the workspace)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"


def feedback_from_message(
    team: str, channel: str, message: Mapping[str, Any], text: str
) -> InboundFeedback:
    """A Slack message (a person's or an integration's) as feedback with readable `text`."""
    ts = message["ts"]
    author = message.get("user") or message.get("username") or message.get("bot_id", "")
    return InboundFeedback(
        source=SOURCE,
        external_id=external_id(team, channel, ts),
        text=text,
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
class People:
    """People's names from `users.info`, each asked for once and then trusted for NAME_TTL."""

    client: AsyncWebClient
    _names: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (expires, name)
    _asking: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def names(self, user_ids: Iterable[str], wait: float = NAME_WAIT) -> dict[str, str]:
        """The names of `user_ids` that are known within `wait` seconds; a slower answer is
        kept for next time, so a listener never keeps Slack waiting on Slack."""
        ids = set(user_ids)
        now = time.monotonic()
        stale = [user for user in ids if user not in self._names or self._names[user][0] <= now]
        for user in stale:
            if user not in self._asking:
                self._asking[user] = asyncio.ensure_future(self._look_up(user))
        if stale and wait > 0:
            await asyncio.wait([self._asking[user] for user in stale], timeout=wait)
        return {user: self._names[user][1] for user in ids if user in self._names}

    async def _look_up(self, user: str) -> None:
        """Ask Slack for one name; on failure keep what was known, or the id, for a while."""
        try:
            response = await self.client.users_info(user=user)
            name, ttl = _display_name(response.get("user") or {}) or user, NAME_TTL
        except SLACK_FAILURES as exc:
            log.warning("could not look up the name of Slack user %s: %s", user, exc)
            name, ttl = self._names.get(user, (0.0, user))[1], NAME_RETRY
        finally:
            self._asking.pop(user, None)
        self._names[user] = (time.monotonic() + ttl, name)


def _display_name(user: Mapping[str, Any]) -> str:
    """The name Slack shows for a person: their full name, else their display name."""
    profile = user.get("profile") or {}
    return (
        user.get("real_name")
        or profile.get("real_name")
        or profile.get("display_name")
        or user.get("name")
        or ""
    )


@dataclass
class AdminGroup:
    """Members of the Slack user group whose people are Upside admins.

    Asked for on first use and every GROUP_TTL after. When Slack cannot say (a deleted group,
    a network failure), it counts as empty, so only the admins named by id are admins; that is
    logged once and Slack is asked again only after GROUP_RETRY.
    """

    client: AsyncWebClient
    group: str
    _members: frozenset[str] = frozenset()
    _expires: float | None = None  # monotonic time to ask Slack again; None: never asked
    _failing: bool = False
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def members(self) -> frozenset[str]:
        """The group's user ids, from Slack when the cached answer is missing or old."""
        async with self._lock:  # concurrent requests share one call to Slack
            if self._expires is None or time.monotonic() >= self._expires:
                await self._fetch()
            return self._members

    async def _fetch(self) -> None:
        """Ask Slack for the members; on failure, none until GROUP_RETRY has passed."""
        try:
            response = await self.client.usergroups_users_list(usergroup=self.group)
        except SLACK_FAILURES as exc:
            if not self._failing:
                log.warning(
                    "cannot read the admin group %s (%s); only admins named by id are admins "
                    "until it can be read",
                    self.group,
                    exc,
                )
            self._members, self._failing = frozenset(), True
            self._expires = time.monotonic() + GROUP_RETRY
            return
        if self._failing:
            log.info("the admin group %s can be read again", self.group)
        self._members, self._failing = frozenset(response.get("users") or []), False
        self._expires = time.monotonic() + GROUP_TTL


@dataclass
class SlackContext:
    """Shared state of the Slack adapter."""

    core: Upside
    commands: Commands
    client: AsyncWebClient
    people: People = field(init=False)
    admin_group: AdminGroup | None = field(init=False)

    def __post_init__(self) -> None:
        group = self.core.settings.slack_admin_group
        self.people = People(self.client)
        self.admin_group = AdminGroup(self.client, group) if group else None

    async def actor(self, user_id: str, team: str = "") -> Actor:
        """Who `user_id` is to Upside: admins by id or by membership of the admin group."""
        settings = self.core.settings
        who = Address(SOURCE, user_id, team)
        if user_id in settings.ids(settings.slack_admins):
            return Actor(who, is_admin=True)
        if self.admin_group is None:
            return Actor(who)
        return Actor(who, is_admin=user_id in await self.admin_group.members())

    async def words(self, message: Mapping[str, Any], wait: float = NAME_WAIT) -> str:
        """What a message says, readable: its words wherever they are, people named (those
        whose names Slack gives within `wait` seconds; the others by id)."""
        markup = message_markup(message)
        names = await self.people.names(mentioned_users(markup), wait)
        return readable(markup, names).strip()

    @staticmethod
    def mentions_people(message: Mapping[str, Any]) -> bool:
        """Whether the message mentions anyone (whose name may come later)."""
        return bool(mentioned_users(message_markup(message)))

    def feedback_channels(self) -> set[str]:
        """Channels whose messages are feedback: configured ones and those admins watch."""
        settings = self.core.settings
        return set(settings.ids(settings.slack_feedback_channels)) | self.core.watched(SOURCE)
