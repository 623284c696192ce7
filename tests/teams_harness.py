"""Upside's server with Teams on, against local fakes of Microsoft's side only.

The real CloudAdapter validates tokens signed with a local key (its JWKS served from a
thread); the bot's replies and proactive posts go to a local Bot Connector.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from adapters.teams.app import TeamsAdapter
from adapters.teams.host import ROUTE
from bot.cli.wiring import Served, mount_adapters
from bot.core import Upside
from bot.models import FeedbackItem
from bot.server import create_app
from classifiers import Classifier
from tests.conftest import eventually, make_core
from tests.fakes.microsoft import (
    APP_ID,
    TENANT,
    FakeConnector,
    FakeCredentialsFactory,
    FakeIdentity,
    mint_token,
    sdk_trusts,
    teams_activity,
)

PASSWORD = "app-password"
ADMIN_AAD = "a0a0a0a0-1111-4222-8333-444455556666"
ANYONE_AAD = "b1b1b1b1-1111-4222-8333-444455556666"
CHANNEL = "19:0a1b2c3d4e5f4a7b8c9d0e1f2a3b4c5d@thread.tacv2"  # the fixtures' channel
BOT = f"28:{APP_ID}"
Json = dict[str, Any]
_ids = itertools.count(1)


def person(aad: str) -> str:
    """The Teams user id (29:…) the harness gives a person with Entra object id `aad`."""
    return f"29:{aad}"


@dataclass
class TeamsHarness:
    """The running server, its core, the fake connector and the bot's conversations."""

    http: TestClient
    core: Upside
    connector: FakeConnector
    served: Served
    known: dict[str, str] = field(default_factory=dict)  # Entra id or channel id → name
    sent: set[str] = field(default_factory=set)  # ids of the activities posted to the bot

    @property
    def adapter(self) -> TeamsAdapter:
        return self.served.adapters["teams"]

    def add_member(self, aad: str, name: str) -> None:
        """Someone Teams can tell the bot about (mentions resolve through the connector)."""
        self.known[aad] = name
        self.connector.members[person(aad)] = {
            "id": person(aad),
            "name": name,
            "aadObjectId": aad,
            "tenantId": TENANT,
        }

    async def send(self, activity: Json, token: str | None = None) -> int:
        """POST an activity as the Bot Framework would, signed unless `token` is given."""
        body = await self.post(activity, token)
        return body[0]

    async def post(self, activity: Json, token: str | None = None) -> tuple[int, Any]:
        """POST an activity; the status and the JSON answer (None when empty)."""
        token = token or mint_token(APP_ID, activity["serviceUrl"])
        self.sent.add(str(activity.get("id")))
        response = await self.http.post(
            ROUTE, json=activity, headers={"Authorization": f"Bearer {token}"}
        )
        text = await response.text()
        return response.status, (await response.json() if text.strip() else None)

    def activity(self, fixture: str, **changes: Any) -> Json:
        """A fixture activity from the connector's service URL, with a fresh id."""
        activity = teams_activity(fixture, self.connector.service_url)
        activity["id"] = f"1772{next(_ids):09d}"
        activity["timestamp"] = datetime.now(UTC).isoformat()
        activity.update(changes)
        return activity

    def message(self, text: str, aad: str = ANYONE_AAD, in_channel: bool = False) -> Json:
        """A message to the bot: in a 1:1, or in the channel after @Upside.

        `<at>Name</at>` in `text` mentions someone the harness knows by that name.
        """
        if in_channel:
            activity = self.activity("message_channel_mention")
            activity["text"] = f"<at>Upside</at> {text}"
            activity["attachments"] = []
            activity["conversation"]["id"] = f"{CHANNEL};messageid={activity['id']}"
        else:
            activity = self.activity("message_personal", text=text)
            activity["conversation"]["id"] = f"a:1personal-{aad}"
        activity["from"] = {
            "id": person(aad),
            "name": self.known.get(aad, "Someone"),
            "aadObjectId": aad,
        }
        entities = [e for e in activity.get("entities", []) if e.get("type") != "mention"]
        if in_channel:
            entities.append(_mention(BOT, "Upside"))
        for known_id, name in self.known.items():
            if f"<at>{name}</at>" in text:
                teams_id = known_id if known_id.startswith("19:") else person(known_id)
                entities.append(_mention(teams_id, name))
        activity["entities"] = entities
        return activity

    async def say(
        self, text: str, aad: str = ANYONE_AAD, in_channel: bool = False, seconds: float = 5.0
    ) -> str:
        """Send a command; the bot's reply text."""
        activity = self.message(text, aad, in_channel)
        before = len(self.replies())
        assert await self.send(activity) == 200
        assert await self.wait(lambda: len(self.replies()) > before, seconds), "no reply"
        return self.replies()[-1]["text"]

    async def invoke(self, verb: str, data: Json, aad: str, **inputs: Any) -> Json:
        """Press an Action.Execute button; the card Teams would show in its place."""
        activity = self.activity("adaptive_card_action")
        activity["from"] = {"id": person(aad), "name": self.known.get(aad, ""), "aadObjectId": aad}
        activity["conversation"]["id"] = f"a:1personal-{aad}"
        activity["value"]["action"] = {
            "type": "Action.Execute",
            "verb": verb,
            "data": data | inputs,
        }
        status, answer = await self.post(activity)
        assert status == 200, (status, answer)
        return answer["value"]

    def replies(self) -> list[Json]:
        """Messages the bot sent in answer to activities (not proactive posts)."""
        return [body for _, answered, body in self._messages() if answered in self.sent]

    def posts(self, conversation: str | None = None) -> list[Json]:
        """Messages the bot posted on its own (digests, DMs, alerts) in `conversation` (or
        anywhere), oldest first."""
        return [
            body
            for where, answered, body in self._messages()
            if answered not in self.sent and conversation in (None, where)
        ]

    def thread_posts(self, channel: str) -> list[Json]:
        """Messages the bot posted on its own into threads of `channel`."""
        return [
            body
            for where, answered, body in self._messages()
            if answered not in self.sent and where.startswith(f"{channel};messageid=")
        ]

    def _messages(self) -> list[tuple[str, str, Json]]:
        """Every message the connector accepted: its conversation, what it answered, its body."""
        found = []
        for call in self.connector.calls:
            parts = call.path.split("/")  # /v3/conversations/{id}/activities[/{reply to}]
            if call.method == "POST" and len(parts) >= 5 and not call.failed:
                found.append((parts[3], parts[5] if len(parts) > 5 else "", call.body))
        return found

    async def wait(self, condition: Callable[[], bool], seconds: float = 5.0) -> bool:
        return await eventually(condition, seconds)

    def items(self) -> list[FeedbackItem]:
        with self.core.session() as session:
            return list(session.exec(select(FeedbackItem).order_by(FeedbackItem.id)))


def _mention(teams_id: str, name: str) -> Json:
    return {
        "type": "mention",
        "text": f"<at>{name}</at>",
        "mentioned": {"id": teams_id, "name": name},
    }


def copy_of(activity: Json) -> Json:
    return copy.deepcopy(activity)


@asynccontextmanager
async def teams_server(tmp_path: Path, classifier: Classifier) -> AsyncIterator[TeamsHarness]:
    """A server with Teams on, the fake identity and connector behind it; the bot installed."""
    with FakeIdentity() as identity, sdk_trusts(identity):
        async with FakeConnector() as connector:
            core = make_core(
                f"sqlite:///{tmp_path / 'teams.db'}",
                classifier,
                teams_app_id=APP_ID,
                teams_app_password=PASSWORD,
                teams_tenant_id=TENANT,
                teams_admins=ADMIN_AAD,
                public_url="https://upside.example.com",
            )
            app = create_app(core)
            factory = FakeCredentialsFactory(APP_ID, PASSWORD, TENANT)
            served = mount_adapters(app, core, teams_credentials=factory)
            async with TestClient(TestServer(app)) as http:
                harness = TeamsHarness(http, core, connector, served)
                harness.add_member(ADMIN_AAD, "Ada Admin")
                # Teams tells the bot when it is added to a team: it keeps the reference
                assert await harness.send(harness.activity("conversation_update_bot_added")) == 200
                yield harness
            core.engine.dispose()
