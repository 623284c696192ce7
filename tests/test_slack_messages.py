"""Every real Slack message, in the shapes Slack sends (tests/fixtures/slack), becomes readable
feedback, and nothing else does; the admin group holds up whatever the clock and Slack say.

Issue 12, points 3 and 6: each test reproduces a failure of the adapter as it was.
"""

from __future__ import annotations

import copy
import logging
from types import SimpleNamespace

import pytest

from tests.fakes.signing import interaction_body
from tests.test_slack_app import (  # noqa: F401  (harness is a fixture)
    ADMIN,
    ANYONE,
    FEEDBACK_CHANNEL,
    GROUP_ADMIN,
    Harness,
    fixture,
    harness,
)

pytestmark = pytest.mark.asyncio(loop_scope="function")

HELP_DESK_TICKET = (
    "New ticket from *Priya Shah*\n"
    "#4821 Refund never arrived\n"
    "I returned the blender on 3 May & I am still waiting for my refund. "
    "Nobody replies to my emails.\n"
    "Priority: High\n"
    "Order: #99812 (https://shop.example.com/orders/99812)"
)
APP_STORE_REVIEW = (
    "★☆☆☆☆ Crashes at checkout\n"
    "Every time I tap *Pay* the app closes & my basket is emptied. Three times today.\n"
    "*Version*\n4.2.1\n*Country*\nUnited Kingdom\n"
    "Reviewed by sam_k (https://apps.apple.com/gb/app/id1?see-all=reviews) on the App Store"
)
MENTIONS_READ = (
    "@Dana Reyes the refund form (https://shop.example.com/refunds) and "
    "https://shop.example.com/help are broken again, see #general @here & thanks"
)
SYSTEM_NOTICES = (
    "channel_name",
    "channel_archive",
    "group_join",
    "pinned_item",
    "bot_add",
    "reminder_add",
)
REAL_MESSAGES = ("bot", "thread_broadcast", "file_share", "me_message")


def in_feedback_channel(name: str) -> dict:
    """A fixture event, posted in the harness's feedback channel."""
    return copy.deepcopy(fixture(name)) | {"channel": FEEDBACK_CHANNEL}


def shared(message: dict) -> dict:
    """A "Send to Upside" shortcut payload on `message`."""
    payload = copy.deepcopy(fixture("message_shortcut"))
    payload["message"] = {k: v for k, v in message.items() if k not in ("channel", "event_ts")}
    payload["message_ts"] = message["ts"]
    return payload


async def ephemeral_reply(running: Harness) -> str:
    """The text of the private reply the shortcut sends after Slack's acknowledgement."""
    assert await running.wait(lambda: bool(running.slack.calls_to("chat.postEphemeral")))
    return running.slack.calls_to("chat.postEphemeral")[-1].args["text"]


def clock(monkeypatch: pytest.MonkeyPatch, start: float) -> list[float]:
    """Make the Slack context read a monotonic clock set to `start` (a freshly booted machine);
    move it by changing the returned list's only item."""
    now = [start]
    monkeypatch.setattr("adapters.slack.context.time", SimpleNamespace(monotonic=lambda: now[0]))
    return now


# ------------------------------------------------------------------ integrations' words


async def test_words_only_in_attachments_are_stored(harness):  # noqa: F811
    ticket = in_feedback_channel("message_attachments")
    assert ticket["text"] == ""
    assert await harness.event(ticket, "EvMsg1") == 200
    assert [item.text for item in harness.items()] == [HELP_DESK_TICKET]


async def test_words_in_blocks_are_stored_not_the_summary_line(harness):  # noqa: F811
    review = in_feedback_channel("message_blocks")
    assert await harness.event(review, "EvMsg2") == 200
    assert [item.text for item in harness.items()] == [APP_STORE_REVIEW]


async def test_the_shortcut_stores_an_integrations_words_and_thanks(harness):  # noqa: F811
    assert await harness.post(interaction_body(shared(fixture("message_attachments")))) == 200
    assert [item.text for item in harness.items()] == [HELP_DESK_TICKET]
    assert "Thanks" in await ephemeral_reply(harness)


async def test_the_shortcut_never_thanks_for_nothing(harness):  # noqa: F811
    photo_only = fixture("message_file_share") | {"text": ""}
    assert await harness.post(interaction_body(shared(photo_only))) == 200
    reply = await ephemeral_reply(harness)
    assert harness.items() == []
    assert "Thanks" not in reply and "stored nothing" in reply and "no words" in reply


# ------------------------------------------------------------------ which messages are feedback


async def test_only_real_messages_become_feedback(harness):  # noqa: F811
    for index, subtype in enumerate(SYSTEM_NOTICES):
        notice = in_feedback_channel(f"message_{subtype}")
        assert await harness.event(notice, f"EvNotice{index}") == 200, subtype
    assert harness.items() == [], "system notices are not customer feedback"
    for index, kind in enumerate(REAL_MESSAGES):
        message = in_feedback_channel(f"message_{kind}")
        assert await harness.event(message, f"EvReal{index}") == 200, kind
    expected = [fixture(f"message_{kind}")["text"] for kind in REAL_MESSAGES]
    assert [item.text for item in harness.items()] == expected


async def test_a_tombstone_deletes_the_feedback(harness):  # noqa: F811
    original = in_feedback_channel("message_channel")
    await harness.event(original, "EvTomb1")
    tombstone = in_feedback_channel("message_tombstone")
    assert tombstone["message"]["ts"] == original["ts"]
    assert await harness.event(tombstone, "EvTomb2") == 200
    item = harness.items()[0]
    assert item.deleted_at is not None and item.text == original["text"]


async def test_edits_are_unescaped_like_new_posts(harness):  # noqa: F811
    original = in_feedback_channel("message_channel")
    await harness.event(original, "EvEdit1")
    changed = in_feedback_channel("message_changed")
    changed["message"] |= {"ts": original["ts"], "text": "Refunds &amp; returns take &gt;6 weeks"}
    assert await harness.event(changed, "EvEdit2") == 200
    assert harness.items()[0].text == "Refunds & returns take >6 weeks"


async def test_malformed_events_are_acknowledged_and_logged(harness, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="adapters.slack.events")
    assert await harness.event(in_feedback_channel("message_changed_without_ts"), "EvBad1") == 200
    nowhere = {k: v for k, v in fixture("message_channel").items() if k != "channel"}
    assert await harness.event(nowhere, "EvBad2") == 200
    untimed = {k: v for k, v in in_feedback_channel("message_channel").items() if k != "ts"}
    assert await harness.event(untimed, "EvBad3") == 200
    warnings = [r.getMessage() for r in caplog.records if r.name == "adapters.slack.events"]
    assert len(warnings) == 3 and "without ts" in warnings[0] and "without a channel" in warnings[1]
    assert harness.items() == []


# ------------------------------------------------------------------ mentions and links


async def test_mentions_and_links_are_stored_readable_names_asked_once(harness):  # noqa: F811
    harness.slack.users["W222"] = {"real_name": "Dana Reyes"}
    assert await harness.event(in_feedback_channel("message_mentions"), "EvName1") == 200
    again = in_feedback_channel("message_mentions") | {"ts": "1700001101.001101"}
    assert await harness.event(again, "EvName2") == 200
    # names come after the ack, from a lazy listener: wait for it rather than race it
    assert await harness.wait(
        lambda: [item.text for item in harness.items()] == [MENTIONS_READ, MENTIONS_READ]
    )
    assert [call.args["user"] for call in harness.slack.calls_to("users.info")] == ["W222"]


async def test_a_name_slack_cannot_give_is_the_id_and_not_asked_again(harness, caplog):  # noqa: F811
    caplog.set_level(logging.WARNING, logger="adapters.slack.context")
    harness.slack.fail_next("users.info", status=429, retry_after=0, times=100)
    assert await harness.event(in_feedback_channel("message_mentions"), "EvNoName1") == 200
    assert await harness.wait(lambda: any("W222" in r.getMessage() for r in caplog.records))
    asked = len(harness.slack.calls_to("users.info"))  # one lookup, with the client's retries
    again = in_feedback_channel("message_mentions") | {"ts": "1700001101.001101"}
    assert await harness.event(again, "EvNoName2") == 200
    texts = [item.text for item in harness.items()]
    assert texts == [MENTIONS_READ.replace("@Dana Reyes", "@W222")] * 2
    assert len(harness.slack.calls_to("users.info")) == asked, "a failed name is not re-asked"
    assert sum("W222" in r.getMessage() for r in caplog.records) == 1


# ------------------------------------------------------------------ the admin group


async def test_the_admin_group_is_read_on_first_use_whatever_the_clock(
    harness,  # noqa: F811
    monkeypatch,
):
    clock(monkeypatch, start=12.0)  # the machine booted twelve seconds ago
    reply = await harness.command("topics add Parking --department Stores", user=GROUP_ADMIN)
    assert "saved" in reply
    assert len(harness.slack.calls_to("usergroups.users.list")) == 1


async def test_an_unreadable_admin_group_leaves_the_admins_named_by_id(
    harness,  # noqa: F811
    monkeypatch,
    caplog,
):
    caplog.set_level(logging.WARNING, logger="adapters.slack.context")
    now = clock(monkeypatch, start=86400.0)  # up for a day
    del harness.slack.usergroups["S0ADMINS"]  # Slack answers no_such_subteam
    assert "Upside commands" in await harness.command("help", user=ANYONE)
    refused = await harness.command("topics add Parking --department Stores", user=GROUP_ADMIN)
    assert "needs the *admin* role" in refused
    allowed = await harness.command("topics add Parking --department Stores", user=ADMIN)
    assert "saved" in allowed
    assert await harness.event(fixture("app_home_opened") | {"user": GROUP_ADMIN}, "EvGrp1") == 200
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.publish")))
    assert "topic_add" not in str(harness.slack.calls_to("views.publish")[-1].args)
    assert len(harness.slack.calls_to("usergroups.users.list")) == 1, "backs off"
    now[0] += 3600  # long after the back-off: asked again, still failing, not logged again
    await harness.command("topics", user=GROUP_ADMIN)
    assert len(harness.slack.calls_to("usergroups.users.list")) == 2
    warnings = [r for r in caplog.records if r.name == "adapters.slack.context"]
    assert len(warnings) == 1 and "S0ADMINS" in warnings[0].getMessage()
