"""The Slack app end to end: signed requests to the running server, Bolt, the real core,
and the fake Slack Web API answering the real slack_sdk client."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from adapters.slack.app import BOT_SCOPES, SlackAdapter
from bot.cli.wiring import mount_adapters
from bot.core import Upside
from bot.digests.delivery import retry_failed
from bot.models import DigestRun, FeedbackItem, Topic, TopicCorrection
from bot.server import create_app
from classifiers import Classifier
from tests.conftest import eventually, make_core
from tests.fakes.signing import event_body, interaction_body, signed_headers, slash_command_body
from tests.fakes.slack_api import BOT_TOKEN, RESPONSE_URL_METHOD, FakeSlackAPI

ROOT = Path(__file__).parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "slack"
SECRET = "test-signing-secret"
ADMIN, ANYONE, GROUP_ADMIN = "UADMIN", "U1", "UGROUP"
FEEDBACK_CHANNEL = "C1"

pytestmark = pytest.mark.asyncio(loop_scope="function")


def post_channel(harness: Harness) -> str:
    """The channel id Slack answered the last chat.postMessage with."""
    return harness.slack.calls_to("chat.postMessage")[-1].args["channel"]


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def topic_form_submission(user: str, examples: str = "") -> dict:
    """The new-topic form submitted by `user`: "Parking" for Stores, with `examples`."""
    submission = fixture("view_submission_topic")
    submission["user"]["id"] = user
    submission["view"]["private_metadata"] = ""
    text = {"type": "plain_text_input"}
    submission["view"]["state"] = {
        "values": {
            "name": {"value": text | {"value": "Parking"}},
            "department": {
                "value": {"type": "static_select", "selected_option": {"value": "Stores"}}
            },
            "description": {"value": text | {"value": "Car parks"}},
            "examples": {"value": text | {"value": examples}},
        }
    }
    return submission


@dataclass
class Harness:
    """The running server, its core and the fake Slack it talks to."""

    http: TestClient
    core: Upside
    slack: FakeSlackAPI
    adapter: SlackAdapter

    async def post(self, body: str, **signing: object) -> int:
        headers = signed_headers(body, SECRET, **signing)  # type: ignore[arg-type]
        response = await self.http.post("/slack/events", data=body, headers=headers)
        return response.status

    async def command(
        self, text: str, user: str = ANYONE, trigger: str | None = None, seconds: float = 5.0
    ) -> str:
        before = len(self.slack.calls_to(RESPONSE_URL_METHOD))
        body = slash_command_body(
            text,
            user_id=user,
            response_url=self.slack.response_url,
            trigger_id=trigger or f"trigger-{time.monotonic_ns()}",
        )
        assert await self.post(body) == 200
        reply = await self.wait(
            lambda: len(self.slack.calls_to(RESPONSE_URL_METHOD)) > before, seconds
        )
        assert reply
        return self.slack.calls_to(RESPONSE_URL_METHOD)[-1].args["text"]

    async def event(self, event: dict, event_id: str, **headers: str) -> int:
        body = event_body(event, event_id=event_id)
        signed = signed_headers(body, SECRET) | headers
        response = await self.http.post("/slack/events", data=body, headers=signed)
        return response.status

    async def wait(self, condition: Callable[[], bool], seconds: float = 5.0) -> bool:
        return await eventually(condition, seconds)

    def items(self) -> list[FeedbackItem]:
        with self.core.session() as session:
            return list(session.exec(select(FeedbackItem).order_by(FeedbackItem.id)))


@asynccontextmanager
async def slack_server(
    tmp_path: Path, classifier: Classifier, **settings: object
) -> AsyncIterator[Harness]:
    """A server with Slack on (admins by id `ADMIN`), the fake Web API behind it."""
    async with FakeSlackAPI() as slack:
        core = make_core(
            f"sqlite:///{tmp_path / 'slack.db'}",
            classifier,
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=slack.base_url,
            slack_admins=ADMIN,
            **settings,
        )
        app = create_app(core)
        adapter = mount_adapters(app, core).adapters["slack"]
        async with TestClient(TestServer(app)) as http:
            yield Harness(http, core, slack, adapter)
        core.engine.dispose()


@pytest_asyncio.fixture(loop_scope="function")
async def harness(tmp_path, classifier) -> AsyncIterator[Harness]:
    settings = {"slack_admin_group": "S0ADMINS", "slack_feedback_channels": FEEDBACK_CHANNEL}
    async with slack_server(tmp_path, classifier, **settings) as running:
        running.slack.usergroups["S0ADMINS"] = [GROUP_ADMIN]
        yield running


# ------------------------------------------------------------------ the manifest


async def test_every_manifest_entry_has_a_working_handler(harness):
    manifest = json.loads((ROOT / "manifest.json").read_text())
    features = manifest["features"]
    for command in features["slash_commands"]:
        assert command["command"] == "/upside"
        assert "Upside commands" in await harness.command("help")
    for shortcut in features["shortcuts"]:
        payload = fixture("message_shortcut") | {"callback_id": shortcut["callback_id"]}
        assert await harness.post(interaction_body(payload)) == 200
    events = {
        "message.channels": fixture("message_channel"),
        "message.groups": fixture("message_channel") | {"channel_type": "group"},
        "app_home_opened": fixture("app_home_opened"),
        "app_uninstalled": fixture("app_uninstalled"),
        "tokens_revoked": fixture("tokens_revoked"),
    }
    for index, name in enumerate(manifest["settings"]["event_subscriptions"]["bot_events"]):
        assert await harness.event(events[name], f"EvManifest{index}") == 200, name
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.publish")))
    assert harness.items(), "the shortcut and message events stored feedback"
    assert tuple(sorted(manifest["oauth_config"]["scopes"]["bot"])) == BOT_SCOPES
    for url in (
        features["slash_commands"][0]["url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        manifest["settings"]["interactivity"]["message_menu_options_url"],
    ):
        assert url.endswith("/slack/events")


# ------------------------------------------------------------------ /upside


async def test_help_and_unknown_commands(harness):
    assert "Upside commands" in await harness.command("")
    reply = await harness.command("frobnicate")
    assert "Unknown command `frobnicate`" in reply and "Upside commands" in reply
    assert "topics add NAME" in await harness.command("help topics")
    assert "could not read" in await harness.command('feedback "unclosed')


async def test_feedback_command_stores_once(harness):
    reply = await harness.command("feedback The checkout page froze twice", trigger="t-1")
    assert "stored as feedback" in reply
    await harness.command("feedback The checkout page froze twice", trigger="t-1")  # a retry
    assert [i.text for i in harness.items()] == ["The checkout page froze twice"]
    assert "empty text" in await harness.command("feedback   ")


async def test_admin_commands_need_the_admin_role(harness):
    reply = await harness.command("topics add Parking --department Stores", user=ANYONE)
    assert "needs the *admin* role" in reply
    reply = await harness.command(
        'topics add Parking --department Stores --description "car park and parking"', user=ADMIN
    )
    assert "saved" in reply
    reply = await harness.command('topics examples Parking "no spaces left"', user=GROUP_ADMIN)
    assert "saved" in reply
    assert "Parking" in await harness.command("topics")
    reply = await harness.command("topics add Parking --department Stores", user=ADMIN)
    assert "exists already" in reply
    assert "no department 'Nowhere'" in await harness.command(
        "topics edit Parking --department Nowhere", user=ADMIN
    )
    assert "removed" in await harness.command("topics remove Parking", user=ADMIN)
    with harness.core.session() as session:
        assert session.exec(select(Topic).where(Topic.name == "Parking")).first() is None


async def test_digest_now_defaults_to_the_channels_department(harness):
    reply = await harness.command("departments set Stores --channel <#C1|voice-stores>", user=ADMIN)
    assert "saved" in reply and harness.core.department("Stores").channel == "C1"
    assert "Posted Stores's digest to C1" in await harness.command("digest now")  # sent from C1
    assert harness.slack.calls_to("chat.postMessage")[-1].args["channel"] == "C1"


async def test_departments_and_channels(harness):
    reply = await harness.command(
        "departments set Stores --timezone Asia/Jerusalem --days sun-thu", user=ADMIN
    )
    assert "saved" in reply
    assert "Asia/Jerusalem" in await harness.command("departments")
    assert "time zone" in await harness.command(
        "departments set Stores --timezone Mars/Olympus", user=ADMIN
    )
    assert "needs the *admin* role" in await harness.command("channels watch <#C9|reviews>")
    assert "is now a feedback channel" in await harness.command(
        "channels watch <#C9|reviews>", user=ADMIN
    )
    assert "<#C9>" in await harness.command("channels list")
    assert "is no longer" in await harness.command("channels unwatch <#C9>", user=ADMIN)


async def test_digest_now_posts_block_kit_to_the_department_channel(harness):
    await harness.command("feedback My parcel arrived smashed and two weeks late", trigger="d1")
    harness.core.worker.run_pending()
    reply = await harness.command("digest now Logistics")
    assert "Posted Logistics's digest" in reply
    post = harness.slack.calls_to("chat.postMessage")[-1]
    assert post.args["channel"] == "#voice-logistics"
    blocks = post.args["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert blocks[0]["type"] == "header"
    assert "smashed" in json.dumps(blocks)
    assert "wrong_topic" in json.dumps(blocks)
    assert await harness.wait(lambda: bool(harness.slack.uploads))
    chart = next(iter(harness.slack.uploads.values()))
    assert chart.startswith(b"\x89PNG")
    upload = harness.slack.calls_to("files.completeUploadExternal")[-1].args
    assert upload["channel_id"] == post_channel(harness) and upload["thread_ts"]
    assert "no department 'Nowhere'" in await harness.command("digest now Nowhere")


async def test_digest_now_survives_a_rate_limit_and_a_server_error(harness):
    harness.slack.fail_next("chat.postMessage", status=429, retry_after=0)
    assert "Posted" in await harness.command("digest now Stores")
    harness.slack.fail_next("chat.postMessage", status=500)
    assert "Posted" in await harness.command("digest now Stores")
    attempts = harness.slack.calls_to("chat.postMessage")
    assert [c.failed for c in attempts] == [True, False, True, False]


async def test_digest_now_that_cannot_reach_slack_says_so(harness):
    harness.slack.fail_next("chat.postMessage", status=500, times=10)
    reply = await harness.command("digest now Stores", seconds=30)  # retries back off
    assert "failed" in reply and "nothing was marked as done" in reply
    assert len(harness.slack.calls_to("chat.postMessage")) == 4  # the first try and 3 retries
    with harness.core.session() as session:
        run = session.exec(select(DigestRun)).one()
        assert (run.status, run.sent_at, run.attempts) == ("failed", None, 1)
    harness.slack.fail_next("chat.postMessage", times=0)  # Slack is back
    assert await retry_failed(harness.core, harness.adapter.outbound) == 1
    assert len([c for c in harness.slack.calls_to("chat.postMessage") if not c.failed]) == 1
    assert await retry_failed(harness.core, harness.adapter.outbound) == 0  # never twice
    with harness.core.session() as session:
        assert session.exec(select(DigestRun)).one().status == "sent"


# ------------------------------------------------------------------ events


async def test_channel_messages_are_stored_once_and_bots_own_ignored(harness):
    message = fixture("message_channel") | {"channel": FEEDBACK_CHANNEL}
    assert await harness.event(message, "Ev100") == 200
    assert await harness.event(message, "Ev100", **{"X-Slack-Retry-Num": "1"}) == 200
    assert len(harness.items()) == 1
    assert harness.core.seen("Ev100")
    review = fixture("message_bot") | {"channel": FEEDBACK_CHANNEL}
    assert await harness.event(review, "Ev101") == 200
    own = fixture("message_bot") | {
        "channel": FEEDBACK_CHANNEL,
        "bot_id": "B0001",
        "ts": "1700009999.000100",
    }
    assert await harness.event(own, "Ev102") == 200
    elsewhere = fixture("message_channel") | {"channel": "C777", "ts": "1700008888.000100"}
    assert await harness.event(elsewhere, "Ev103") == 200
    items = harness.items()
    assert len(items) == 2
    assert items[1].author == review.get("username") or items[1].author == review["bot_id"]


async def test_text_is_stored_as_people_wrote_it_and_quoted_escaped(harness):
    # a person typed "<!channel>" literally (Slack escapes it); "<!here>" is Slack's markup
    typed = "Terrible: charged twice &amp; nobody answers. Disgraceful &lt;!channel&gt; <!here>"
    message = fixture("message_channel") | {"channel": FEEDBACK_CHANNEL, "text": typed}
    assert await harness.event(message, "Ev150") == 200
    assert (
        harness.items()[0].text
        == "Terrible: charged twice & nobody answers. Disgraceful <!channel> @here"
    )
    await harness.command('topics add "R&amp;D ideas" --department Product', user=ADMIN)
    with harness.core.session() as session:
        assert session.exec(select(Topic).where(Topic.name == "R&D ideas")).first()
    harness.core.worker.run_pending()
    listed = await harness.command("queue")
    assert "twice &amp; nobody" in listed and "&lt;!channel&gt;" in listed
    assert "<!channel>" not in listed


async def test_edits_and_deletions_follow_the_source(harness):
    message = fixture("message_channel") | {"channel": FEEDBACK_CHANNEL}
    await harness.event(message, "Ev200")
    changed = copy.deepcopy(fixture("message_changed"))
    changed["channel"] = FEEDBACK_CHANNEL
    changed["message"]["ts"] = message["ts"]
    changed["message"]["text"] = "Edited: call me on 415-555-0132 about the refund"
    await harness.event(changed, "Ev201")
    item = harness.items()[0]
    assert item.text.startswith("Edited") and "[phone]" in item.display_text
    edited_at = item.received_at
    # the background worker labels the new words
    assert await harness.wait(
        lambda: (
            (harness.items()[0].classified_at or edited_at) > edited_at
            and harness.items()[0].sentiment is not None
        )
    )
    deleted = fixture("message_deleted") | {
        "channel": FEEDBACK_CHANNEL,
        "deleted_ts": message["ts"],
    }
    await harness.event(deleted, "Ev202")
    assert harness.items()[0].deleted_at is not None


async def test_a_failed_event_is_retried_not_lost(harness, monkeypatch):
    message = fixture("message_channel") | {"channel": FEEDBACK_CHANNEL}
    original = harness.core.ingest

    def broken(items):
        raise RuntimeError("database went away")

    monkeypatch.setattr(harness.core, "ingest", broken)
    assert await harness.event(message, "Ev300") == 500
    monkeypatch.setattr(harness.core, "ingest", original)
    assert await harness.event(message, "Ev300", **{"X-Slack-Retry-Num": "1"}) == 200
    assert len(harness.items()) == 1


async def test_signatures_are_checked(harness):
    message = fixture("message_channel") | {"channel": FEEDBACK_CHANNEL}
    body = event_body(message, event_id="Ev400")
    bad = signed_headers(body, "wrong-secret")
    assert (await harness.http.post("/slack/events", data=body, headers=bad)).status == 401
    stale = signed_headers(body, SECRET, timestamp=int(time.time()) - 6 * 60)
    assert (await harness.http.post("/slack/events", data=body, headers=stale)).status == 401
    assert harness.items() == []


# ------------------------------------------------------------------ interactivity and home


async def test_send_to_upside_shortcut_stores_and_thanks(harness):
    payload = fixture("message_shortcut")
    assert await harness.post(interaction_body(payload)) == 200
    assert harness.items()[0].text == payload["message"]["text"]
    assert await harness.wait(lambda: bool(harness.slack.calls_to("chat.postEphemeral")))
    thanks = harness.slack.calls_to("chat.postEphemeral")[0].args
    assert thanks["user"] == payload["user"]["id"] and "Thanks" in thanks["text"]


async def test_wrong_topic_becomes_a_correction(harness):
    await harness.command("feedback The car park is always full", trigger="w1")
    item = harness.items()[0]
    payload = fixture("block_actions_wrong_topic")
    payload["actions"][0]["selected_option"]["value"] = f"{item.id}|Store experience"
    payload["response_url"] = harness.slack.response_url
    before = len(harness.slack.calls_to(RESPONSE_URL_METHOD))
    assert await harness.post(interaction_body(payload)) == 200
    assert await harness.wait(lambda: len(harness.slack.calls_to(RESPONSE_URL_METHOD)) > before)
    assert "Store experience" in harness.slack.calls_to(RESPONSE_URL_METHOD)[-1].args["text"]
    with harness.core.session() as session:
        correction = session.exec(select(TopicCorrection)).one()
        assert correction.corrected_by == payload["user"]["id"]


async def test_home_tab_shows_sentiment_and_admin_tools(harness):
    opened = fixture("app_home_opened") | {"user": ADMIN}
    assert await harness.event(opened, "Ev500") == 200
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.publish")))  # after
    view = harness.slack.calls_to("views.publish")[-1].args
    text = json.dumps(view)
    assert view["user_id"] == ADMIN and "Sentiment by department" in text
    assert "topic_add" in text and "Delivery" in text
    assert await harness.event(fixture("app_home_opened") | {"user": ANYONE}, "Ev501") == 200
    assert await harness.wait(lambda: len(harness.slack.calls_to("views.publish")) == 2)
    assert "topic_add" not in json.dumps(harness.slack.calls_to("views.publish")[-1].args)


async def test_topic_form_creates_a_topic(harness):
    click = {
        "type": "block_actions",
        "user": {"id": ADMIN},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": "trigger-form",
        "container": {"type": "view", "view_id": "V1"},
        "actions": [{"action_id": "topic_add", "value": "new", "type": "button"}],
    }
    assert await harness.post(interaction_body(click)) == 200
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.open")))
    form = harness.slack.calls_to("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    assert form["callback_id"] == "topic_form"
    submission = topic_form_submission(ADMIN, examples="no spaces\nfull again")
    assert await harness.post(interaction_body(submission)) == 200
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.publish")))  # saved
    with harness.core.session() as session:
        topic = session.exec(select(Topic).where(Topic.name == "Parking")).one()
        assert topic.description == "Car parks"
    submission["view"]["state"]["values"]["name"]["value"]["value"] = ""
    response = await harness.http.post(
        "/slack/events",
        data=interaction_body(submission),
        headers=signed_headers(interaction_body(submission), SECRET),
    )
    assert (await response.json())["errors"]["name"] == "A topic needs a name."
