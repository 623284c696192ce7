"""Requests as Slack sends them to our app: bodies shaped like Slack's, signed with the secret.

body = slash_command_body("topics", response_url=slack.response_url)
await client.post("/slack/events", data=body, headers=signed_headers(body, SECRET))
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_api import APP_ID, BOT_USER_ID, TEAM_ID

VERIFICATION_TOKEN = "verification-token"  # deprecated by Slack, still sent in every payload
TRIGGER_ID = "1700000000.1.0123456789abcdef0123456789abcdef"
RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1/abc"


def signed_headers(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for `body`, and the content type Slack sends it with."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # only None without a timestamp
    text = body.decode() if isinstance(body, bytes) else body
    content_type = (
        "application/json" if text.startswith("{") else "application/x-www-form-urlencoded"
    )
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


def slash_command_body(
    text: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    command: str = "/upside",
    team_id: str = TEAM_ID,
    response_url: str = RESPONSE_URL,
    trigger_id: str = TRIGGER_ID,
) -> str:
    """A slash command invocation, form-encoded as Slack posts it."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": "test",
            "channel_id": channel_id,
            "channel_name": channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )


def event_body(event: dict[str, Any], event_id: str = "Ev1", team_id: str = TEAM_ID) -> str:
    """An Events API delivery: `event` inside Slack's event_callback envelope, as JSON."""
    event_time = int(float(event.get("event_ts") or event.get("ts") or time.time()))
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "context_team_id": team_id,
            "context_enterprise_id": None,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": event_time,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """A shortcut, action or view submission: form-encoded `payload=<json>` as Slack posts it."""
    return urlencode({"payload": json.dumps(payload)})
