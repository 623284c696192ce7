"""Socket Mode: Upside connects out to (the fake) Slack and handles envelopes it is sent."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlmodel import select

from bot.cli.wiring import mount_adapters
from bot.core import Upside
from bot.models import FeedbackItem
from bot.server import create_app
from tests.conftest import make_settings
from tests.fakes.signing import event_body
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

FIXTURES = Path(__file__).parent / "fixtures" / "slack"
pytestmark = pytest.mark.asyncio(loop_scope="function")


async def test_events_arrive_over_socket_mode_and_are_acknowledged(tmp_path, classifier):
    async with FakeSlackAPI() as slack:
        settings = make_settings(
            f"sqlite:///{tmp_path / 'socket.db'}",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret="unused-in-socket-mode",
            slack_app_token="xapp-1-A0001-test",
            slack_api_url=slack.base_url,
            slack_feedback_channels="C1",
        )
        core = Upside(settings, classifier=classifier)
        core.migrate()
        app = create_app(core)
        mount_adapters(app, core)
        server = TestServer(app)
        await server.start_server()  # on start-up Upside opens the Socket Mode link
        try:
            message = json.loads((FIXTURES / "message_channel.json").read_text()) | {
                "channel": "C1"
            }
            envelope = {
                "envelope_id": "env-1",
                "type": "events_api",
                "accepts_response_payload": False,
                "payload": json.loads(event_body(message, event_id="EvSocket1")),
            }
            await slack.send_envelope(envelope)
            for _ in range(250):
                if slack.socket_acks:
                    break
                await asyncio.sleep(0.02)
            assert slack.socket_acks[0]["envelope_id"] == "env-1"
            assert slack.calls_to("apps.connections.open")
            with core.session() as session:
                stored = session.exec(select(FeedbackItem)).one()
            assert stored.text == message["text"]
        finally:
            await server.close()
            core.engine.dispose()
