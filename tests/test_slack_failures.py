"""Slack failing the ways Slack fails: errors no retry can fix hold the delivery, admins are told
once, `upside status` lists it, and fixing the channel or the token resumes it, covering the gap
once. The app's lifecycle events (uninstalled, tokens revoked, rate limited) are handled."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial

import pytest
import pytest_asyncio
from sqlmodel import select
from typer.testing import CliRunner

from adapters.slack.app import SlackAdapter
from bot.cli.main import app as cli
from bot.digests.attention import Watchful
from bot.digests.delivery import DeliveryError, retry_failed, send_once
from bot.digests.holds import needs_attention
from bot.models import Department, DigestRun, Notice
from bot.ports import Address
from tests.conftest import make_core
from tests.fakes.signing import signed_headers
from tests.fakes.slack_api import FakeSlackAPI
from tests.test_slack_app import ADMIN, SECRET, Harness, fixture, slack_server

pytestmark = pytest.mark.asyncio(loop_scope="function")
PLACE_ERRORS = ["channel_not_found", "not_in_channel", "is_archived", "msg_too_long"]
APP_ERRORS = ["invalid_auth", "token_revoked", "account_inactive"]


@pytest_asyncio.fixture(loop_scope="function")
async def harness(tmp_path, classifier) -> AsyncIterator[Harness]:
    """Upside with Slack in token mode, the fake Web API behind it."""
    async with slack_server(tmp_path, classifier) as running:
        yield running


def posts_to(slack: FakeSlackAPI, channel: str) -> list[dict]:
    return [c.args for c in slack.calls_to("chat.postMessage") if c.args["channel"] == channel]


def told(slack: FakeSlackAPI) -> list[str]:
    """What the admin was DMed about places Upside cannot post to."""
    return [a["text"] for a in posts_to(slack, "D" + ADMIN) if "no longer post" in a["text"]]


def runs(core) -> list[DigestRun]:
    with core.session() as session:
        return list(session.exec(select(DigestRun).order_by(DigestRun.period_end)))


@pytest.mark.parametrize("error", [*PLACE_ERRORS, "invalid_blocks"])
async def test_a_refused_channel_is_held_told_once_and_never_retried(harness, error):
    harness.slack.refuse_next("chat.postMessage", error)
    reply = await harness.command("digest now Stores", user=ADMIN)
    assert "failed" in reply and error in reply
    assert len(posts_to(harness.slack, "#voice-stores")) == 1
    [dm] = told(harness.slack)
    assert error in dm and "#voice-stores" in dm
    [concern] = needs_attention(harness.core)
    assert concern.where.id == "#voice-stores" and error in concern.reason
    assert concern.departments == ("Stores",)

    outbound = harness.adapter.context.commands.outbound
    assert await retry_failed(harness.core, outbound) == 0
    await harness.command("digest now Stores", user=ADMIN)  # asked again: Slack is not
    assert len(posts_to(harness.slack, "#voice-stores")) == 1 and len(told(harness.slack)) == 1
    assert {r.status for r in runs(harness.core)} == {"held", "superseded"}


async def test_a_new_channel_resumes_the_digest_covering_the_gap_once(harness):
    harness.slack.refuse_next("chat.postMessage", "not_in_channel")
    await harness.command("digest now Stores", user=ADMIN)
    first = runs(harness.core)[0]
    await harness.command("digest now Stores", user=ADMIN)
    assert "saved" in await harness.command("departments set Stores --channel #C0NEW", user=ADMIN)
    outbound = harness.adapter.context.commands.outbound
    assert await retry_failed(harness.core, outbound) == 1
    assert len(posts_to(harness.slack, "C0NEW")) == 1
    [sent] = [r for r in runs(harness.core) if r.status == "sent"]
    assert sent.period_start == first.period_start  # the whole gap, once
    assert needs_attention(harness.core) == []  # the old channel's hold went with it


async def test_inviting_upside_and_naming_the_same_channel_resumes(harness):
    harness.slack.refuse_next("chat.postMessage", "not_in_channel")
    await harness.command("digest now Stores", user=ADMIN)
    assert needs_attention(harness.core)
    with harness.core.session() as session:
        channel = session.exec(select(Department.channel).where(Department.name == "Stores")).one()
    await harness.command(f"departments set Stores --channel #{channel}", user=ADMIN)
    assert needs_attention(harness.core) == []
    outbound = harness.adapter.context.commands.outbound
    assert await retry_failed(harness.core, outbound) == 1
    assert len(posts_to(harness.slack, channel)) == 1


@pytest.mark.parametrize("error", APP_ERRORS)
async def test_a_refused_token_holds_the_workspace_until_a_new_token(
    harness, error, tmp_path, classifier
):
    harness.slack.refuse_next("chat.postMessage", error)
    await harness.command("digest now Stores", user=ADMIN)
    [concern] = needs_attention(harness.core)
    assert concern.where == Address("slack", "", "") and error in concern.reason
    assert {"Stores", "Logistics"} <= set(concern.departments)
    calls = len(harness.slack.calls_to("chat.postMessage"))
    await harness.command("digest now Logistics", user=ADMIN)
    assert len(harness.slack.calls_to("chat.postMessage")) == calls  # held: Slack not asked

    same = make_core(str(harness.core.engine.url), classifier, **_slack(harness.slack))
    SlackAdapter(same, Watchful(same, harness.adapter.outbound))  # a restart, same token
    assert needs_attention(harness.core)
    renewed = make_core(
        str(harness.core.engine.url), classifier, **_slack(harness.slack, "xoxb-new")
    )
    SlackAdapter(renewed, Watchful(renewed, harness.adapter.outbound))  # a new token
    assert needs_attention(harness.core) == []
    outbound = harness.adapter.context.commands.outbound
    assert await retry_failed(harness.core, outbound) == 2  # Stores and Logistics, once each


def _slack(slack: FakeSlackAPI, token: str = "xoxb-test") -> dict:
    return {
        "slack_bot_token": token,
        "slack_signing_secret": SECRET,
        "slack_api_url": slack.base_url,
        "slack_admins": ADMIN,
    }


async def test_every_notice_follows_the_same_rules(harness):
    outbound = harness.adapter.context.commands.outbound
    post = partial(outbound.post_scoreboard, Address("slack", "C0LEAD"), "2026-11", [])
    harness.slack.refuse_next("chat.postMessage", "is_archived")
    with pytest.raises(DeliveryError):
        await send_once(harness.core, "scoreboard", "2026-11", post)
    with pytest.raises(DeliveryError):  # tried again: held, Slack is not asked
        await send_once(harness.core, "scoreboard", "2026-11", post)
    assert len(posts_to(harness.slack, "C0LEAD")) == 1 and len(told(harness.slack)) == 1
    with harness.core.session() as session:
        notice = session.exec(select(Notice).where(Notice.kind == "scoreboard")).one()
    assert notice.status == "held" and "is_archived" in notice.error


async def test_upside_status_lists_what_needs_attention(harness):
    env = {"UPSIDE_DATABASE_URL": str(harness.core.engine.url), "COLUMNS": "200"}
    assert "every delivery is running" in CliRunner().invoke(cli, ["status"], env=env).output
    harness.slack.refuse_next("chat.postMessage", "not_in_channel")
    await harness.command("digest now Stores", user=ADMIN)
    shown = CliRunner().invoke(cli, ["status"], env=env).output
    assert "#voice-stores" in shown and "not_in_channel" in shown and "Stores waiting" in shown


# ------------------------------------------------------------------ the app's lifecycle


async def test_tokens_revoked_and_app_uninstalled_hold_deliveries(harness):
    assert await harness.event(fixture("tokens_revoked"), "EvRevoked") == 200
    [concern] = needs_attention(harness.core)
    assert concern.where == Address("slack", "", "") and "revoked" in concern.reason
    await harness.command("digest now Stores", user=ADMIN)
    assert posts_to(harness.slack, "#voice-stores") == []
    assert await harness.event(fixture("app_uninstalled"), "EvUninstalled") == 200
    assert len(needs_attention(harness.core)) == 1  # one hold, told once


async def test_app_rate_limited_is_acknowledged(harness):
    body = json.dumps(fixture("app_rate_limited"))
    response = await harness.http.post(
        "/slack/events", data=body, headers=signed_headers(body, SECRET)
    )
    assert response.status == 200


async def test_admins_see_a_banner_on_their_home_tab(harness):
    harness.slack.refuse_next("chat.postMessage", "is_archived")
    await harness.command("digest now Stores", user=ADMIN)
    await harness.event(fixture("app_home_opened") | {"user": ADMIN}, "EvHomeBanner")
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.publish")))
    view = json.dumps(harness.slack.calls_to("views.publish")[-1].args["view"])
    assert "Needs attention" in view and "is_archived" in view and "Stores" in view
