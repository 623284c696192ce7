"""Multi-workspace installs: the OAuth flow against the fake Slack, tokens in Upside's database."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from bot.cli.wiring import mount_adapters
from bot.core import Upside
from bot.digests.holds import needs_attention
from bot.ports import Address
from bot.server import create_app
from tests.conftest import make_core
from tests.fakes.signing import event_body, signed_headers, slash_command_body
from tests.fakes.slack_api import BOT_TOKEN, RESPONSE_URL_METHOD, TEAM_ID, FakeSlackAPI
from tests.test_slack_app import fixture

SECRET = "oauth-signing-secret"
Served = tuple[TestClient, Upside, FakeSlackAPI]
ADMIN = "UADMIN"
pytestmark = pytest.mark.asyncio(loop_scope="function")


@pytest_asyncio.fixture(loop_scope="function")
async def served(database_url, classifier) -> AsyncIterator[Served]:
    async with FakeSlackAPI() as slack:
        core = make_core(
            database_url,
            classifier,
            slack_signing_secret=SECRET,
            slack_client_id="111.222",
            slack_client_secret="client-secret",
            slack_api_url=slack.base_url,
            slack_admins=ADMIN,
        )
        app = create_app(core)
        adapter = mount_adapters(app, core).adapters["slack"]
        async with TestClient(TestServer(app)) as http:
            yield http, core, slack
        await adapter.installations.engine.dispose()
        core.engine.dispose()


async def command(http: TestClient, slack: FakeSlackAPI, text: str) -> str:
    before = len(slack.calls_to(RESPONSE_URL_METHOD))
    body = slash_command_body(
        text, user_id=ADMIN, response_url=slack.response_url, trigger_id=str(time.monotonic_ns())
    )
    response = await http.post("/slack/events", data=body, headers=signed_headers(body, SECRET))
    assert response.status == 200
    for _ in range(250):
        if len(slack.calls_to(RESPONSE_URL_METHOD)) > before:
            return slack.calls_to(RESPONSE_URL_METHOD)[-1].args["text"]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no reply to {text!r}")


async def test_install_then_use_and_post_with_the_installed_token(served):
    http, core, slack = served
    # Before any install no token exists for the workspace: Bolt says so, nothing runs.
    refused = await command(http, slack, "help")
    assert "installation" in refused and "Upside commands" not in refused

    url = await install(http)
    assert "client_id=111.222" in url and "files:write" in url
    assert slack.calls_to("oauth.v2.access")

    assert "Upside commands" in await command(http, slack, "help")
    assert "saved" in await command(http, slack, "departments set Logistics --channel C1")
    assert core.department("Logistics").workspace == TEAM_ID
    assert "Posted" in await command(http, slack, "digest now Logistics")
    post = slack.calls_to("chat.postMessage")[-1]
    assert post.headers["Authorization"] == f"Bearer {BOT_TOKEN}"


async def test_a_forged_state_is_refused(served):
    http, _, slack = served
    response = await http.get(
        "/slack/oauth_redirect",
        params={"code": "temporary-code", "state": "forged"},
        headers={"Cookie": "slack-app-oauth-state=forged"},
    )
    assert response.status == 401
    assert not slack.calls_to("oauth.v2.access")


async def test_an_uninstall_holds_delivery_and_a_reinstall_resumes_it(served):
    http, core, slack = served
    await install(http)
    assert "Upside commands" in await command(http, slack, "help")
    body = event_body(fixture("app_uninstalled"), event_id="EvGone")
    response = await http.post("/slack/events", data=body, headers=signed_headers(body, SECRET))
    assert response.status == 200
    assert "installation" in await command(http, slack, "help")  # its token is gone
    assert Address("slack", "", TEAM_ID) in [c.where for c in needs_attention(core)]
    await install(http)  # an admin installs Upside again
    assert needs_attention(core) == []


async def install(http: TestClient) -> str:
    """Slack's OAuth flow: the install page, then Slack's redirect back with a code; returns
    the authorize URL the page linked to."""
    page = await http.get("/slack/install")
    assert page.status == 200
    authorize = re.search(r'href="(https://slack\.com/oauth/v2/authorize[^"]+)"', await page.text())
    assert authorize, "the install page links to Slack's authorize URL"
    url = authorize.group(1).replace("&amp;", "&")
    state = re.search(r"state=([^&]+)", url).group(1)
    done = await http.get(
        "/slack/oauth_redirect",
        params={"code": "temporary-code", "state": state},
        headers={"Cookie": f"slack-app-oauth-state={state}"},
    )
    assert done.status == 200, await done.text()
    return url
