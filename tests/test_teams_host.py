"""`POST /api/teams/messages` with the real CloudAdapter and the SDK's own JWT validation.

Tokens are signed with a local key whose JWKS a thread serves; the bot's replies go to a local
Bot Connector. Every bad token must be a 401 that reaches no handler and sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from botbuilder.core import ActivityHandler, TurnContext
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue

from adapters.teams.host import ROUTE, TeamsHost, tenant_of
from bot.config import Settings
from tests.fakes.microsoft import (
    APP_ID,
    FIXTURES,
    FOREIGN_TENANT,
    STRANGER_KEY,
    TENANT,
    WEBCHAT_KEY,
    WEBCHAT_KID,
    FakeConnector,
    FakeCredentialsFactory,
    FakeIdentity,
    mint_token,
    sdk_trusts,
    teams_activity,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "app-password"
EMULATOR_ISSUER = "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"


class RecordingBot(ActivityHandler):
    """Records every turn, replies to messages, and answers Action.Execute with a card."""

    def __init__(self) -> None:
        self.turns: list[Activity] = []

    async def on_turn(self, turn_context: TurnContext) -> None:
        self.turns.append(turn_context.activity)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity("noted")

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        card = {
            "type": "AdaptiveCard",
            "version": "1.5",
            "body": [],
            "claimed": invoke_value.action["data"],  # a plain dict, not a model
        }
        return AdaptiveCardInvokeResponse(
            status_code=200, type="application/vnd.microsoft.card.adaptive", value=card
        )


def settings(**overrides: Any) -> Settings:
    values = {"teams_app_id": APP_ID, "teams_app_password": PASSWORD, "teams_tenant_id": TENANT}
    return Settings(_env_file=None, **{**values, **overrides})  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def identity() -> Iterator[FakeIdentity]:
    with FakeIdentity() as server:
        yield server


@pytest.fixture
def trusted(identity: FakeIdentity) -> Iterator[FakeIdentity]:
    """The SDK validating against `identity`, with its key cache emptied around the test."""
    with sdk_trusts(identity):
        yield identity


@pytest.fixture
async def connector() -> Any:
    async with FakeConnector() as fake:
        yield fake


@pytest.fixture
def bot() -> RecordingBot:
    return RecordingBot()


@pytest.fixture
async def client(aiohttp_client, trusted: FakeIdentity, bot: RecordingBot) -> TestClient:
    host = TeamsHost(
        settings(), credentials_factory=FakeCredentialsFactory(APP_ID, PASSWORD, TENANT)
    )
    app = web.Application()
    app.router.add_post(ROUTE, host.handler(bot))
    return await aiohttp_client(app)


async def post(client: TestClient, body: Any, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(ROUTE, json=body, headers=headers)


async def test_a_valid_token_reaches_the_bot_and_its_reply_the_connector(
    client: TestClient, bot: RecordingBot, connector: FakeConnector
) -> None:
    body = teams_activity("message_personal", connector.service_url)
    response = await post(client, body, mint_token(APP_ID, connector.service_url))

    assert response.status == 200
    [turn] = bot.turns
    assert turn.text == "my complaints"
    assert turn.conversation.tenant_id == TENANT  # Teams' "tenantId", which the SDK drops
    [reply] = connector.calls
    assert reply.path.startswith(f"/v3/conversations/{body['conversation']['id']}/activities/")
    assert reply.body["text"] == "noted"


async def test_an_invoke_answers_with_the_bots_invoke_response(
    client: TestClient, bot: RecordingBot, connector: FakeConnector
) -> None:
    body = teams_activity("adaptive_card_action", connector.service_url)
    response = await post(client, body, mint_token(APP_ID, connector.service_url))

    assert response.status == 200
    answer = await response.json()
    assert answer["statusCode"] == 200
    assert answer["value"]["claimed"] == {"complaint": 42}
    assert len(bot.turns) == 1


def _bad_tokens(service_url: str) -> dict[str, str | None]:
    now_payload = {"serviceurl": service_url, "iss": "https://api.botframework.com", "aud": APP_ID}
    return {
        "missing": None,
        "not-a-jwt": "not.a.jwt",
        "expired": mint_token(APP_ID, service_url, expires_in=-3600),
        "wrongly-signed": mint_token(APP_ID, service_url, key=STRANGER_KEY),
        "unknown-kid": mint_token(APP_ID, service_url, kid="rotated-away", key=STRANGER_KEY),
        "no-kid": mint_token(APP_ID, service_url, kid=""),
        "hs256": mint_token(APP_ID, service_url, algorithm="HS256"),
        "alg-none": jwt.encode(now_payload, None, algorithm="none"),
        "wrong-audience": mint_token(APP_ID, service_url, audience="another-bot"),
        "wrong-issuer": mint_token(APP_ID, service_url, issuer="https://login.example.com"),
        "emulator-issuer": mint_token(APP_ID, service_url, issuer=EMULATOR_ISSUER),
        "other-service-url": mint_token(APP_ID, "https://smba.trafficmanager.net/emea/"),
        "not-endorsed-for-teams": mint_token(APP_ID, service_url, kid=WEBCHAT_KID, key=WEBCHAT_KEY),
    }


BAD_TOKENS = list(_bad_tokens("http://127.0.0.1/"))


@pytest.mark.parametrize("case", BAD_TOKENS)
async def test_every_bad_token_is_401_and_reaches_nothing(
    client: TestClient, bot: RecordingBot, connector: FakeConnector, case: str
) -> None:
    token = _bad_tokens(connector.service_url)[case]
    body = teams_activity("message_personal", connector.service_url)
    response = await post(client, body, token)

    assert response.status == 401
    assert bot.turns == []
    assert connector.calls == []


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "bearer x.y.z"])
async def test_other_authorization_schemes_are_401(
    client: TestClient, bot: RecordingBot, connector: FakeConnector, header: str
) -> None:
    body = teams_activity("message_personal", connector.service_url)
    response = await client.post(ROUTE, json=body, headers={"Authorization": header})

    assert response.status == 401
    assert bot.turns == []


@pytest.mark.parametrize("fixture", ["message_foreign_tenant", "adaptive_card_action"])
async def test_a_foreign_tenant_is_ignored(
    client: TestClient, bot: RecordingBot, connector: FakeConnector, fixture: str
) -> None:
    body = teams_activity(fixture, connector.service_url)
    body["channelData"]["tenant"]["id"] = FOREIGN_TENANT
    body["conversation"]["tenantId"] = FOREIGN_TENANT
    response = await post(client, body, mint_token(APP_ID, connector.service_url))

    assert response.status == 200
    assert await response.read() == b""
    assert bot.turns == []
    assert connector.calls == []


async def test_the_foreign_tenant_fixture_is_foreign() -> None:
    activity = Activity.deserialize(teams_activity("message_foreign_tenant", "http://x/"))
    assert tenant_of(activity) == FOREIGN_TENANT


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"text": "no type"}', "application/json", 400),
        ('{"type": "message", "from": "x", "serviceUrl": "http://h/"}', "application/json", 400),
        ('{"type": "message"}', "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        ('{"type": "message"}', "text/plain", 415),
    ],
    ids=["bad-json", "array", "no-type", "wrong-shape", "no-service-url", "bad-utf8", "not-json"],
)
async def test_malformed_requests_are_refused_before_authentication(
    client: TestClient, bot: RecordingBot, data: Any, content_type: str, status: int
) -> None:
    response = await client.post(ROUTE, data=data, headers={"Content-Type": content_type})

    assert response.status == status
    assert bot.turns == []


async def test_the_host_refuses_to_run_without_teams_credentials() -> None:
    unset = {"teams_app_id": None, "teams_app_password": None, "teams_tenant_id": None}
    with pytest.raises(ValueError, match="Teams needs"):
        TeamsHost(settings(**unset))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda path: path.stem)
async def test_every_fixture_is_an_activity_of_a_known_tenant(path: Path) -> None:
    activity = Activity.deserialize(teams_activity(path.stem, "http://x/"))
    expected = FOREIGN_TENANT if path.stem == "message_foreign_tenant" else TENANT
    assert activity.type and activity.service_url == "http://x/"
    assert tenant_of(activity) == expected
