"""The fake Slack Web API answers the real slack_sdk the way Slack does."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.signing import event_body, interaction_body, signed_headers, slash_command_body
from tests.fakes.slack_api import BOT_TOKEN, RESPONSE_URL_METHOD, FakeSlackAPI

FIXTURES = Path(__file__).parent / "fixtures" / "slack"
SECRET = "signing-secret"


# The server must run on the loop of the test that talks to it.
@pytest_asyncio.fixture(loop_scope="function")
async def slack() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as fake:
        yield fake


def client(slack: FakeSlackAPI, **options: object) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url, **options)  # type: ignore[arg-type]


async def test_a_posted_message_is_recorded_with_its_args(slack: FakeSlackAPI) -> None:
    first = await client(slack).chat_postMessage(channel="C1", text="hello", thread_ts="1.2")
    second = await client(slack).chat_postMessage(channel="C1", text="again")

    [call, _] = slack.calls_to("chat.postMessage")
    assert call.args == {"channel": "C1", "text": "hello", "thread_ts": "1.2"}
    assert call.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    assert first["channel"] == "C1"
    assert float(first["ts"]) < float(second["ts"])


async def test_calls_without_a_token_are_not_authed(slack: FakeSlackAPI) -> None:
    anonymous = AsyncWebClient(base_url=slack.base_url)

    with pytest.raises(SlackApiError) as raised:
        await anonymous.users_info(user="U1")

    assert raised.value.response["error"] == "not_authed"
    assert (await anonymous.users_info(user="U1", token=BOT_TOKEN))["user"]["tz"]


async def test_an_unknown_method_is_answered_as_slack_does(slack: FakeSlackAPI) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client(slack).api_call("chat.nonsense")

    assert raised.value.response["error"] == "unknown_method"


async def test_usergroup_members_come_from_the_fake(slack: FakeSlackAPI) -> None:
    slack.usergroups["S1"] = ["U1", "U2"]

    answer = await client(slack).usergroups_users_list(usergroup="S1")

    assert answer["users"] == ["U1", "U2"]


async def test_files_upload_v2_sends_the_bytes_to_the_upload_url(slack: FakeSlackAPI) -> None:
    answer = await client(slack).files_upload_v2(
        content=b"png bytes", filename="chart.png", channel="C1"
    )

    file_id = answer["file"]["id"]
    assert slack.uploads == {file_id: b"png bytes"}
    [complete] = slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == "C1"
    assert json.loads(complete.args["files"]) == [{"id": file_id, "title": "chart.png"}]


async def test_a_rate_limited_call_is_retried_after_retry_after(slack: FakeSlackAPI) -> None:
    # Retry-After 0 keeps the test fast; the handler adds up to a second of jitter.
    slack.fail_next("chat.postMessage", status=429, retry_after=0)
    retrying = client(slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])

    answer = await retrying.chat_postMessage(channel="C1", text="hello")

    assert answer["ok"]
    assert [call.failed for call in slack.calls_to("chat.postMessage")] == [True, False]


async def test_without_the_handler_a_rate_limit_is_an_error(slack: FakeSlackAPI) -> None:
    slack.fail_next("chat.postMessage", status=429)

    with pytest.raises(SlackApiError) as raised:
        await client(slack).chat_postMessage(channel="C1", text="hello")

    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "1"
    assert raised.value.response["error"] == "ratelimited"


async def test_a_server_error_is_retried_by_the_server_error_handler(slack: FakeSlackAPI) -> None:
    slack.fail_next("views.publish", status=500)
    retrying = client(slack, retry_handlers=[AsyncServerErrorRetryHandler()])

    answer = await retrying.views_publish(user_id="U1", view={"type": "home", "blocks": []})

    assert answer["view"]["type"] == "home"
    assert [call.failed for call in slack.calls_to("views.publish")] == [True, False]


async def test_a_response_url_post_is_recorded(slack: FakeSlackAPI) -> None:
    answer = await AsyncWebhookClient(slack.response_url).send(
        text="done", response_type="ephemeral"
    )

    assert answer.status_code == 200
    [call] = slack.calls_to(RESPONSE_URL_METHOD)
    assert call.args == {"text": "done", "response_type": "ephemeral"}


def test_signed_headers_validate_with_the_right_secret_only() -> None:
    body = slash_command_body("help")
    headers = signed_headers(body, SECRET)
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]

    assert SignatureVerifier(SECRET).is_valid(body, timestamp, signature)
    assert not SignatureVerifier("wrong-secret").is_valid(body, timestamp, signature)


def test_an_old_timestamp_does_not_validate() -> None:
    body = event_body(json.loads((FIXTURES / "message_channel.json").read_text()))
    headers = signed_headers(body.encode(), SECRET, timestamp=int(time.time()) - 600)

    assert not SignatureVerifier(SECRET).is_valid_request(body, headers)


async def test_bolt_accepts_the_built_bodies_and_calls_auth_test(slack: FakeSlackAPI) -> None:
    app = AsyncApp(client=client(slack), signing_secret=SECRET)
    seen: list[str] = []

    @app.command("/upside")
    async def command(ack: AsyncAck, command: dict) -> None:
        await ack()
        seen.append(command["text"])

    @app.event("message")
    async def message(event: dict) -> None:
        seen.append(event["text"])

    @app.shortcut("send_to_upside")
    async def shortcut(ack: AsyncAck, shortcut: dict) -> None:
        await ack()
        seen.append(shortcut["message"]["text"])

    message_event = json.loads((FIXTURES / "message_channel.json").read_text())
    for body in (
        slash_command_body("help"),
        event_body(message_event),
        interaction_body(json.loads((FIXTURES / "message_shortcut.json").read_text())),
    ):
        request = AsyncBoltRequest(body=body, headers=signed_headers(body, SECRET))
        assert (await app.async_dispatch(request)).status == 200

    assert seen[0] == "help"
    assert seen[1] == message_event["text"]
    assert seen[2].startswith("A customer just told me")
    assert slack.calls_to("auth.test")
