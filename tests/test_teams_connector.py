"""`TeamsSender` through the real CloudAdapter and connector client, against a fake Bot Connector.

References come from Teams-shaped activities (`remember`), sends go through
`continue_conversation` and `create_conversation`, and the fake answers 429s, 403s and 404s
as Teams does. Sleeps are recorded instead of slept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botbuilder.core import TurnContext
from botbuilder.schema import Activity
from sqlalchemy import Engine
from sqlmodel import select

from adapters.teams.connector import Backoff, RateLimiter, TeamsSender, TeamsSendError
from adapters.teams.host import TeamsHost
from bot import db
from bot.config import Settings
from bot.models import Conversation
from bot.ports import Address, Unreachable
from tests.fakes.microsoft import (
    ACCESS_TOKEN,
    APP_ID,
    TENANT,
    FakeConnector,
    FakeCredentialsFactory,
    FakeIdentity,
    teams_activity,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHANNEL = "19:0a1b2c3d4e5f4a7b8c9d0e1f2a3b4c5d@thread.tacv2"
TEAM = "19:7e1b2c3d4e5f4a7b8c9d0e1f2a3b4c5d@thread.tacv2"
ADA = "8d2f1a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"  # has a 1:1 in message_personal
GRACE = "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"  # posts in the channel, no 1:1 yet
SENDS = f"/v3/conversations/{CHANNEL}/activities"


class Sleeps:
    """Records the back-off's waits and yields without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def identity() -> Iterator[FakeIdentity]:
    with FakeIdentity() as server:
        yield server


@pytest.fixture
async def connector() -> Any:
    async with FakeConnector() as fake:
        yield fake


@pytest.fixture
def engine(tmp_path: Any) -> Engine:
    engine = db.make_engine(f"sqlite:///{tmp_path}/t.db")
    db.upgrade(engine)
    return engine


@pytest.fixture
def host(identity: FakeIdentity) -> TeamsHost:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, teams_app_id=APP_ID, teams_app_password="pw", teams_tenant_id=TENANT
    )
    factory = FakeCredentialsFactory(APP_ID, "pw", TENANT, token_url=identity.token_url(TENANT))
    return TeamsHost(settings, credentials_factory=factory)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def sender(host: TeamsHost, engine: Engine, sleeps: Sleeps) -> TeamsSender:
    return TeamsSender(
        host.adapter, APP_ID, engine, backoff=Backoff(sleep=sleeps, jitter=lambda: 1)
    )


def remember(sender: TeamsSender, fixture: str, service_url: str) -> None:
    activity = Activity.deserialize(teams_activity(fixture, service_url))
    sender.remember(TurnContext(sender.adapter, activity))


def rows(engine: Engine) -> dict[str, Conversation]:
    with db.session_scope(engine) as session:
        return {row.conversation_id: row for row in session.exec(select(Conversation))}


def message(text: str) -> Activity:
    return Activity(type="message", text=text)


@pytest.fixture
def known(sender: TeamsSender, connector: FakeConnector) -> TeamsSender:
    """A sender that has seen a channel message and Ada's 1:1."""
    remember(sender, "message_channel_mention", connector.service_url)
    remember(sender, "message_personal", connector.service_url)
    return sender


async def test_remember_stores_the_channel_not_the_thread_and_the_person(
    known: TeamsSender, engine: Engine, connector: FakeConnector
) -> None:
    stored = rows(engine)
    channel = stored[CHANNEL]
    assert (channel.kind, channel.channel_id, channel.workspace) == ("channel", CHANNEL, TENANT)
    assert channel.reference["conversation"]["id"] == CHANNEL
    assert channel.reference["serviceUrl"] == connector.service_url
    [personal] = [row for row in stored.values() if row.kind == "personal"]
    assert (personal.user_id, personal.workspace, personal.name) == (ADA, TENANT, "Ada Lovelace")


async def test_remember_refreshes_the_service_url_and_revives(
    known: TeamsSender, engine: Engine
) -> None:
    known.forget(CHANNEL, "403 BotNotInConversationRoster")
    remember(known, "installation_update_add", "https://smba.trafficmanager.net/emea/")
    remember(known, "message_channel_mention", "https://smba.trafficmanager.net/amer/")

    channel = rows(engine)[CHANNEL]
    assert channel.active and channel.error == ""
    assert channel.reference["serviceUrl"] == "https://smba.trafficmanager.net/amer/"
    assert rows(engine)[TEAM].name == "Customer Care"


async def test_a_channel_post_goes_through_with_the_connector_token(
    known: TeamsSender, connector: FakeConnector, identity: FakeIdentity
) -> None:
    fetched = len(identity.token_requests)
    posted = await known.send(Address("teams", CHANNEL, TENANT), message("Daily digest"))

    call = connector.calls[0]
    assert call.method == "POST" and call.path.startswith(SENDS + "/")
    assert call.body["text"] == "Daily digest"
    assert call.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    await known.send(Address("teams", CHANNEL, TENANT), message("Another"))
    assert len(identity.token_requests) == fetched + 1  # credentials and token are reused
    assert identity.token_requests[-1]["client_id"] == APP_ID
    assert identity.token_requests[-1]["scope"] == "https://api.botframework.com/.default"
    assert (posted.channel, posted.ref) == (CHANNEL, "1700000000001")


async def test_a_run_of_429s_is_retried_after_retry_after(
    known: TeamsSender, connector: FakeConnector, sleeps: Sleeps
) -> None:
    connector.fail_next(SENDS, 429, times=3, retry_after=2)

    posted = await known.send(Address("teams", CHANNEL, TENANT), message("hi"))

    assert [call.failed for call in connector.calls_to(SENDS)] == [True, True, True, False]
    assert sleeps.waits == [2, 2, 2]
    assert posted.ref


async def test_retry_after_is_capped_and_retries_are_bounded(
    known: TeamsSender, connector: FakeConnector, sleeps: Sleeps
) -> None:
    known.backoff.retries = 2
    connector.fail_next(SENDS, 429, times=5, retry_after=3600)

    with pytest.raises(TeamsSendError) as failure:
        await known.send(Address("teams", CHANNEL, TENANT), message("hi"))

    assert failure.value.status == 429
    assert len(connector.calls_to(SENDS)) == 3
    assert sleeps.waits == [known.backoff.cap, known.backoff.cap]


@pytest.mark.parametrize("status", [412, 502, 504])
async def test_transient_failures_back_off_exponentially(
    known: TeamsSender, connector: FakeConnector, sleeps: Sleeps, status: int
) -> None:
    connector.fail_next(SENDS, status, times=2)

    await known.send(Address("teams", CHANNEL, TENANT), message("hi"))

    assert len(connector.calls_to(SENDS)) == 3
    assert sleeps.waits == [known.backoff.base, known.backoff.base * 2]  # jitter pinned to 1


async def test_a_lost_connection_is_retried_then_reported(
    sender: TeamsSender, sleeps: Sleeps, unused_tcp_port: int
) -> None:
    remember(sender, "message_channel_mention", f"http://127.0.0.1:{unused_tcp_port}/")
    sender.backoff.retries = 2

    with pytest.raises(TeamsSendError, match="unreachable"):
        await sender.send(Address("teams", CHANNEL, TENANT), message("hi"))

    assert sleeps.waits == [sender.backoff.base, sender.backoff.base * 2]


@pytest.mark.parametrize(
    ("status", "code"), [(403, "BotNotInConversationRoster"), (404, "ConversationNotFound")]
)
async def test_gone_marks_the_reference_inactive_without_retrying(
    known: TeamsSender, connector: FakeConnector, engine: Engine, status: int, code: str
) -> None:
    connector.fail_next(SENDS, status)

    with pytest.raises(Unreachable):
        await known.send(Address("teams", CHANNEL, TENANT), message("hi"))
    with pytest.raises(Unreachable, match=code):  # later sends do not even try
        await known.send(Address("teams", CHANNEL, TENANT), message("again"))

    assert len(connector.calls_to(SENDS)) == 1
    channel = rows(engine)[CHANNEL]
    assert (channel.active, channel.error) == (False, f"{status} {code}")


async def test_gone_is_reported_even_when_the_bot_swallows_turn_errors(
    known: TeamsSender, connector: FakeConnector
) -> None:
    async def swallow(context: TurnContext, error: Exception) -> None:
        """What a bot's friendly on_turn_error does."""

    known.adapter.on_turn_error = swallow
    connector.fail_next(SENDS, 403)

    with pytest.raises(Unreachable):
        await known.send(Address("teams", CHANNEL, TENANT), message("hi"))


@pytest.mark.parametrize("status", [400, 401, 500])
async def test_other_errors_raise_at_once_and_keep_the_reference(
    known: TeamsSender, connector: FakeConnector, engine: Engine, sleeps: Sleeps, status: int
) -> None:
    connector.fail_next(SENDS, status)

    with pytest.raises(TeamsSendError) as failure:
        await known.send(Address("teams", CHANNEL, TENANT), message("hi"))

    assert failure.value.status == status
    assert len(connector.calls_to(SENDS)) == 1
    assert sleeps.waits == []
    assert rows(engine)[CHANNEL].active


async def test_a_person_without_a_1to1_gets_one_created(
    known: TeamsSender, connector: FakeConnector, engine: Engine
) -> None:
    grace = Address("teams", GRACE, TENANT)
    first = await known.send(grace, message("You have a complaint to handle"))
    second = await known.send(grace, message("Reminder"))

    [create] = connector.calls_to("/v3/conversations")[:1]
    assert create.path == "/v3/conversations"
    assert create.body["members"] == [{"id": GRACE}]
    assert create.body["isGroup"] is False
    assert create.body["tenantID"] == TENANT  # sic: the SDK's spelling of tenantId
    assert create.body["channelData"] == {"tenant": {"id": TENANT}}
    assert create.body["bot"]["id"] == f"28:{APP_ID}"
    assert len([c for c in connector.calls if c.path == "/v3/conversations"]) == 1
    assert first.channel == second.channel and first.channel.startswith("a:")
    sends = connector.calls_to(f"/v3/conversations/{first.channel}/activities")
    assert [call.body["text"] for call in sends] == ["You have a complaint to handle", "Reminder"]
    stored = rows(engine)[first.channel]
    assert (stored.kind, stored.user_id, stored.workspace) == ("personal", GRACE, TENANT)


async def test_a_person_with_a_1to1_uses_it(known: TeamsSender, connector: FakeConnector) -> None:
    posted = await known.send(Address("teams", ADA, TENANT), message("hi"))

    assert posted.channel.startswith("a:1Wm3")
    assert all(call.path != "/v3/conversations" for call in connector.calls)


async def test_a_person_the_app_is_not_installed_for_is_unreachable(
    known: TeamsSender, connector: FakeConnector, engine: Engine
) -> None:
    connector.fail_next("/v3/conversations", 403)

    with pytest.raises(Unreachable):
        await known.send(Address("teams", GRACE, TENANT), message("hi"))

    assert [row.user_id for row in rows(engine).values() if row.kind == "personal"] == [ADA]
    assert rows(engine)[CHANNEL].active  # the seed reference is not blamed


async def test_a_tenant_without_any_reference_is_unreachable(
    sender: TeamsSender, connector: FakeConnector
) -> None:
    with pytest.raises(Unreachable, match="not installed"):
        await sender.send(Address("teams", GRACE, TENANT), message("hi"))
    assert connector.calls == []


async def test_a_reply_goes_into_the_messages_thread(
    known: TeamsSender, connector: FakeConnector
) -> None:
    posted = await known.reply(
        CHANNEL, "1772442999000", message("Resolved: refunds now take 3 days")
    )

    thread = f"{CHANNEL};messageid=1772442999000"
    [call] = connector.calls
    assert call.path.startswith(f"/v3/conversations/{thread}/activities")
    assert call.body["conversation"]["id"] == thread
    assert posted.channel == thread


async def test_a_404_on_a_thread_does_not_condemn_the_channel(
    known: TeamsSender, connector: FakeConnector, engine: Engine
) -> None:
    connector.fail_next(f"/v3/conversations/{CHANNEL};messageid=1", 404)

    with pytest.raises(Unreachable):
        await known.reply(CHANNEL, "1", message("hi"))

    assert rows(engine)[CHANNEL].active


async def test_an_update_puts_the_activity_in_place_without_sdk_retries(
    known: TeamsSender, connector: FakeConnector, sleeps: Sleeps
) -> None:
    posted = await known.send(Address("teams", CHANNEL, TENANT), message("Open"))
    path = f"{SENDS}/{posted.ref}"
    connector.fail_next(path, 502)

    updated = await known.update(posted.channel, posted.ref, message("Claimed by Ada"))

    puts = [call for call in connector.calls if call.method == "PUT"]
    assert [call.path for call in puts] == [path, path]  # ours: one retry; msrest's: none
    assert puts[-1].body["text"] == "Claimed by Ada"
    assert puts[-1].body["id"] == posted.ref
    assert updated == posted
    assert sleeps.waits == [known.backoff.base]


async def test_an_update_by_address_in_a_1to1(known: TeamsSender, connector: FakeConnector) -> None:
    ada = Address("teams", ADA, TENANT)
    posted = await known.send(ada, message("Open"))

    await known.update(ada, posted.ref, message("Resolved"))

    assert connector.calls[-1].method == "PUT"
    assert connector.calls[-1].path == f"/v3/conversations/{posted.channel}/activities/{posted.ref}"


async def test_the_rate_limit_spaces_posts_into_one_conversation(
    known: TeamsSender, connector: FakeConnector
) -> None:
    waits = Sleeps()

    async def sleep(seconds: float) -> None:
        await waits(seconds)
        await asyncio.sleep(seconds)

    known.limiter = RateLimiter(rate=7, per=0.3, sleep=sleep)
    channel, ada = Address("teams", CHANNEL, TENANT), Address("teams", ADA, TENANT)

    start = time.monotonic()
    await asyncio.gather(*(known.send(channel, message(f"{n}")) for n in range(15)))
    channel_done = time.monotonic()
    held_back = len(waits.waits)
    await asyncio.gather(*(known.send(ada, message(f"{n}")) for n in range(7)))

    assert len(connector.calls_to(SENDS)) == 15
    assert channel_done - start >= 0.6  # 7 at once, 7 after 0.3 s, the last after 0.6 s
    assert held_back >= 1
    assert len(waits.waits) == held_back  # another conversation is not held back


async def test_the_rate_limiter_waits_only_when_the_window_is_full() -> None:
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(rate=7, per=1.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(7):
        await limiter.wait("c")
    await limiter.wait("other")
    assert waits == []

    now[0] = 0.25
    await limiter.wait("c")
    assert waits == [0.75]
