"""Upside in Teams end to end: the real bot behind the real CloudAdapter and JWT checks, a
fake Bot Connector behind it. What Slack and Teams share is in test_scenarios.py; this is
what only Teams has: its activities, cards, message action, references and lifecycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from adapters.teams import cards
from bot.digests.delivery import DeliveryError, deliver
from bot.executives import complaints
from bot.executives.programme import assign_month
from bot.executives.views import Standing
from bot.messages import Message, Strong, para
from bot.models import (
    Conversation,
    Department,
    Executive,
    FeedbackItem,
    Reveal,
    TopicExample,
)
from bot.ports import Address, InboundFeedback
from tests.fakes.microsoft import TENANT
from tests.teams_harness import ADMIN_AAD, ANYONE_AAD, CHANNEL

pytestmark = pytest.mark.asyncio(loop_scope="function")

DANA = "d2d2d2d2-1111-4222-8333-444455556666"
COMPLAINT = "Worst service ever: you lost my parcel, charged me twice and nobody answers. Awful."


def conversations(harness) -> dict[str, Conversation]:
    with harness.core.session() as session:
        return {c.conversation_id: c for c in session.exec(select(Conversation))}


async def watch_channel(harness) -> None:
    assert "now a feedback channel" in await harness.say("channels watch", ADMIN_AAD, True)


async def channel_message(harness, text: str, **changes) -> dict:
    """A message in the fixtures' channel from a workflow (a support tool posting)."""
    activity = harness.activity("message_channel_workflow", **changes)
    activity["conversation"]["id"] = f"{CHANNEL};messageid={activity['id']}"
    activity["text"] = text
    assert await harness.send(activity) == 200
    return activity


async def a_complaint(harness) -> FeedbackItem:
    await watch_channel(harness)
    await channel_message(harness, COMPLAINT)
    harness.core.worker.run_pending()
    [item] = [i for i in harness.items() if i.text == COMPLAINT]
    return item


# ------------------------------------------------------------ conversations and lifecycle


async def test_references_are_kept_on_install_and_dropped_on_removal(teams):
    added = teams.activity("conversation_update_bot_added")  # the team's first channel
    general = conversations(teams)[added["conversation"]["id"]]
    assert general.active and general.kind == "channel" and general.workspace == TENANT
    assert general.reference["serviceUrl"] == teams.connector.service_url
    await teams.say("help", ANYONE_AAD, in_channel=True)
    assert conversations(teams)[CHANNEL].active  # every activity refreshes its reference
    await teams.say("help", ANYONE_AAD)
    personal = conversations(teams)[f"a:1personal-{ANYONE_AAD}"]
    assert personal.kind == "personal" and personal.user_id == ANYONE_AAD

    removed = teams.activity("conversation_update_bot_removed")
    assert await teams.send(removed) == 200
    general = conversations(teams)[removed["conversation"]["id"]]
    assert not general.active and "removed" in general.error


async def test_uninstalling_from_a_chat_deactivates_it(teams):
    await teams.say("help", ANYONE_AAD)
    uninstall = teams.activity("installation_update_remove")
    uninstall["conversation"]["id"] = f"a:1personal-{ANYONE_AAD}"
    assert await teams.send(uninstall) == 200
    assert not conversations(teams)[f"a:1personal-{ANYONE_AAD}"].active


async def test_an_activity_from_another_tenant_stores_nothing(teams):
    await watch_channel(teams)
    before = conversations(teams)
    foreign = teams.activity("message_foreign_tenant")
    assert await teams.send(foreign) == 200
    assert teams.items() == [] and conversations(teams).keys() == before.keys()
    assert not teams.replies()[1:]  # only the watch command was answered


# ------------------------------------------------------------ channel messages


async def test_watched_channel_messages_become_feedback_as_plain_text(teams):
    await watch_channel(teams)
    await channel_message(teams, "Refund &amp; apology&nbsp;please<br>order <b>4411</b>")
    workflow = teams.activity("message_channel_workflow")  # words only in an Adaptive Card
    workflow["conversation"]["id"] = f"{CHANNEL};messageid={workflow['id']}"
    assert await teams.send(workflow) == 200
    own = teams.activity("message_channel_workflow")
    own["from"] = {"id": own["recipient"]["id"], "name": "Upside"}
    own["text"] = "Upside's own digest"
    assert await teams.send(own) == 200
    system = teams.activity("conversation_update_bot_added")
    assert await teams.send(system) == 200

    items = teams.items()
    assert [i.text for i in items] == [
        "Refund & apology please\norder 4411",
        "New App Store review (1 star)\nThe app crashes every time I open my invoices.",
    ]
    assert all(i.source == "teams" and i.channel == CHANNEL for i in items)
    assert items[0].link.startswith("https://teams.microsoft.com/l/message/")


async def test_edits_and_deletions_follow_the_source(teams):
    await watch_channel(teams)
    posted = await channel_message(teams, "The app crashed")
    edit = teams.activity("message_update_edit", id=posted["id"])
    edit["text"] = "The app crashed &amp; lost my basket"
    edit["attachments"] = []
    assert await teams.send(edit) == 200
    [item] = teams.items()
    assert item.text == "The app crashed & lost my basket"

    delete = teams.activity("message_delete_soft", id=posted["id"])
    assert await teams.send(delete) == 200
    [item] = teams.items()
    assert item.deleted_at is not None


# ------------------------------------------------------------ "Send to Upside"


async def test_the_message_action_shows_stores_with_its_link_and_confirms(teams):
    fetch = teams.activity("compose_extension_fetch_task")
    status, answer = await teams.post(fetch)
    card = answer["task"]["value"]["card"]["content"]
    assert status == 200 and "six weeks" in json.dumps(card)
    assert card["actions"][0]["title"] == "Send to Upside"

    submit = teams.activity("compose_extension_submit_action")
    status, answer = await teams.post(submit)
    assert status == 200 and "stored as feedback #" in answer["task"]["value"]
    [item] = teams.items()
    assert (
        item.text == 'Customer on the phone: "My refund took six weeks & nobody answered my emails"'
    )
    assert item.link.startswith("https://teams.microsoft.com/l/message/")
    status, again = await teams.post(teams.activity("compose_extension_submit_action"))
    assert "already" in again["task"]["value"] and len(teams.items()) == 1

    empty = teams.activity("compose_extension_submit_action")
    empty["value"]["messagePayload"]["id"] = "1772443599999"
    empty["value"]["messagePayload"]["body"]["content"] = "<p> </p>"
    status, answer = await teams.post(empty)
    assert "Nothing was stored" in answer["task"]["value"] and len(teams.items()) == 1


# ------------------------------------------------------------ complaint cards


async def test_claim_release_and_resolve_on_the_card_in_place(teams):
    teams.add_member(DANA, "Dana")
    assert "is an executive" in await teams.say("execs add <at>Dana</at> --name Dana", ADMIN_AAD)
    item = await a_complaint(teams)
    data = {"feedback_id": item.id}

    refused = await teams.invoke(cards.CLAIM, data, ANYONE_AAD)
    assert "needs the executive role" in json.dumps(refused)
    claimed = await teams.invoke(cards.CLAIM, data, DANA)
    assert "It's yours" in json.dumps(claimed)
    assert _verbs(claimed) == [cards.RESOLVE, cards.RELEASE, cards.REVEAL]
    again = await teams.invoke(cards.CLAIM, data, DANA)  # a double click changes nothing
    assert _verbs(again) == _verbs(claimed)
    with teams.core.session() as session:
        assert session.exec(select(Executive)).one().user_id == DANA
    assert len(complaints.mine(teams.core, Address("teams", DANA))) == 1

    released = await teams.invoke(cards.RELEASE, data, DANA)
    assert "back to the queue" in json.dumps(released) and _verbs(released) == [cards.CLAIM]
    await teams.invoke(cards.CLAIM, data, DANA)
    empty = await teams.invoke(cards.RESOLVE, data, DANA, note="  ")
    assert "Say what was done" in json.dumps(empty)
    resolved = await teams.invoke(cards.RESOLVE, data, DANA, note="Refunded & called them")
    assert "resolved" in json.dumps(resolved) and _verbs(resolved) == []
    twice = await teams.invoke(cards.RESOLVE, data, DANA, note="Again")
    assert _verbs(twice) == [] and "Resolved" in json.dumps(twice)

    [reply] = teams.thread_posts(CHANNEL)
    assert "Refunded" in reply["text"] and "Again" not in json.dumps(teams.thread_posts(CHANNEL))


async def test_only_the_holder_reveals_the_words_as_received_in_their_1_to_1(teams):
    teams.add_member(DANA, "Dana")
    await teams.say("execs add <at>Dana</at> --name Dana", ADMIN_AAD)
    teams.core.ingest([InboundFeedback("webhook", "v1", f"{COMPLAINT} Call *07700 900123*.")])
    teams.core.worker.run_pending()
    data = {"feedback_id": teams.items()[0].id}

    assert "holding" in json.dumps(await teams.invoke(cards.REVEAL, data, DANA))  # not hers yet
    claimed = await teams.invoke(cards.CLAIM, data, DANA)
    assert cards.REVEAL in _verbs(claimed) and "07700" not in json.dumps(claimed)
    shown = await teams.invoke(cards.REVEAL, data, DANA)
    assert "\\\\*07700 900123\\\\*" in json.dumps(shown)  # the words, escaped
    assert cards.REVEAL not in _verbs(shown) and cards.RESOLVE in _verbs(shown)
    stranger = await teams.invoke(cards.REVEAL, data, ANYONE_AAD)
    assert "needs the executive role" in json.dumps(stranger)
    assert "07700" not in json.dumps(stranger)
    in_channel = await teams.say(f"reveal {data['feedback_id']}", DANA, in_channel=True)
    assert "where you alone see them" in in_channel and "07700" not in in_channel
    assert "07700 900123" in await teams.say(f"reveal {data['feedback_id']}", DANA)
    with teams.core.session() as session:
        looks = session.exec(select(Reveal)).all()
    assert [(r.feedback_id, r.platform) for r in looks] == [(data["feedback_id"], "teams")] * 2


async def test_a_monthly_complaint_reaches_the_executive_in_a_new_1_to_1(teams):
    teams.add_member(DANA, "Dana")
    await teams.say("execs add <at>Dana</at> --name Dana --quota 1", ADMIN_AAD)
    await a_complaint(teams)
    today = datetime.now(UTC).date()
    assert await assign_month(teams.core, teams.served.outbound, f"{today:%Y-%m}", today) == 1
    [created] = [c for c in teams.connector.calls if c.path == "/v3/conversations"]
    assert created.body["members"][0]["id"] == DANA
    assert created.body["channelData"]["tenant"]["id"] == TENANT
    [dm] = [p for p in teams.posts() if p.get("attachments")]
    card = dm["attachments"][0]["content"]
    assert "lost my parcel" in json.dumps(card) and _verbs(card) == [cards.CLAIM]


def _verbs(card: dict) -> list[str]:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node["verb"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card.get("actions", []))
    return found


# ------------------------------------------------------------ topics from cards


async def test_wrong_topic_and_the_admin_topic_card(teams):
    refused = await teams.invoke(
        cards.SAVE_TOPIC, {}, ANYONE_AAD, name="Refunds", department="Billing"
    )
    assert "needs the admin role" in json.dumps(refused)
    saved = await teams.invoke(
        cards.SAVE_TOPIC, {}, ADMIN_AAD, name="Refunds", department="Billing", description="Money"
    )
    assert "Topic" in json.dumps(saved) and "saved" in json.dumps(saved)
    examples = await teams.invoke(
        cards.ADD_EXAMPLES,
        {},
        ADMIN_AAD,
        topic="Refunds",
        phrases="where is my refund\n\nmoney back",
    )
    assert "saved" in json.dumps(examples)
    with teams.core.session() as session:
        phrases = set(session.exec(select(TopicExample.text)))
    assert {"where is my refund", "money back"} <= phrases

    await watch_channel(teams)
    await channel_message(teams, "You charged me twice for one order")
    teams.core.worker.run_pending()
    [item] = teams.items()
    moved = await teams.invoke(
        cards.CORRECT_TOPIC, {"feedback_id": item.id}, ANYONE_AAD, **{f"topic_{item.id}": "Refunds"}
    )
    assert "now belongs to Refunds" in json.dumps(moved)
    assert teams.items()[0].labelled_by == ANYONE_AAD


async def test_topics_command_shows_the_admin_card_to_admins(teams):
    assert "**Delivery** → Logistics" in await teams.say("topics", ANYONE_AAD)
    assert await teams.send(teams.message("topics", ADMIN_AAD)) == 200
    card = teams.replies()[-1]["attachments"][0]["content"]
    assert "Delivery" in json.dumps(card)
    assert {cards.SAVE_TOPIC, cards.ADD_EXAMPLES} <= set(_verbs(card))


# ------------------------------------------------------------ digests and failures


async def _support_department(harness) -> Department:
    """The department a customer's message went to, posting in the Teams channel."""
    await watch_channel(harness)
    await channel_message(harness, "You charged me twice for one order & nobody answers")
    harness.core.worker.run_pending()
    [item] = harness.items()
    with harness.core.session() as session:
        department = session.get(Department, item.department_id)
        department.platform, department.channel, department.workspace = "teams", CHANNEL, TENANT
        session.add(department)
        session.flush()
        session.refresh(department)
        return department


async def test_a_digest_is_posted_once_through_a_run_of_429s(teams):
    department = await _support_department(teams)
    teams.connector.fail_next(
        f"/v3/conversations/{CHANNEL}/activities", 429, times=3, retry_after=0
    )
    end = datetime.now(UTC) + timedelta(minutes=1)
    run = await deliver(teams.core, teams.served.outbound, department, end - timedelta(days=1), end)
    assert run.status == "sent"
    attempts = teams.connector.calls_to(f"/v3/conversations/{CHANNEL}/activities")
    assert [c.failed for c in attempts] == [True, True, True, False]
    [digest] = teams.posts(CHANNEL)
    card = digest["attachments"][0]["content"]
    assert card["version"] == "1.5" and len(json.dumps(card)) < cards.MAX_BYTES
    assert "charged me twice for one order" in json.dumps(card)
    again = await deliver(
        teams.core, teams.served.outbound, department, end - timedelta(days=1), end
    )
    assert again.status == "sent" and len(teams.posts(CHANNEL)) == 1


async def test_the_digest_chart_is_served_under_an_expiring_link(teams):
    department = await _support_department(teams)
    end = datetime.now(UTC) + timedelta(minutes=1)
    await deliver(teams.core, teams.served.outbound, department, end - timedelta(days=1), end)
    card = json.dumps(teams.posts(CHANNEL)[0]["attachments"][0]["content"])
    url = card.split('"url": "https://upside.example.com')[1].split('"')[0]
    response = await teams.http.get(url)
    assert response.status == 200 and response.content_type == "image/png"
    assert (await response.read()).startswith(b"\x89PNG")
    assert (await teams.http.get(url[:-3] + "xyz")).status == 404


async def test_a_removed_bot_is_not_retried_and_the_admin_is_told(teams):
    department = await _support_department(teams)
    teams.connector.fail_next(f"/v3/conversations/{CHANNEL}/activities", 403, times=5)
    end = datetime.now(UTC) + timedelta(minutes=1)
    with pytest.raises(DeliveryError):
        await deliver(teams.core, teams.served.outbound, department, end - timedelta(days=1), end)
    assert len(teams.connector.calls_to(f"/v3/conversations/{CHANNEL}/activities")) == 1
    assert not conversations(teams)[CHANNEL].active
    [told] = [p for p in teams.posts() if "no longer post" in p.get("text", "")]
    assert "BotNotInConversationRoster" in told["text"]
    with pytest.raises(DeliveryError):  # tried again later: no call, and nobody told twice
        await deliver(teams.core, teams.served.outbound, department, end - timedelta(days=1), end)
    assert len(teams.connector.calls_to(f"/v3/conversations/{CHANNEL}/activities")) == 1
    assert len([p for p in teams.posts() if "no longer post" in p.get("text", "")]) == 1


async def test_alerts_and_the_scoreboard_are_cards_in_their_channels(teams):
    await watch_channel(teams)
    channel = Address("teams", CHANNEL, TENANT)
    alert = Message.of(para("Spike in ", Strong("Delivery"), ": 9 negative items"))
    await teams.served.outbound.post_alert(channel, "Logistics", alert)
    standings = [Standing("Dana", DANA, 3, 2, 0, timedelta(hours=5))]
    await teams.served.outbound.post_scoreboard(channel, "2026-11", standings)
    posted = [p["attachments"][0]["content"] for p in teams.posts(CHANNEL)]
    assert "Spike in" in json.dumps(posted[0]) and "Logistics" in json.dumps(posted[0])
    assert "2026-11" in json.dumps(posted[1]) and "Dana" in json.dumps(posted[1])


async def test_older_clients_press_buttons_through_action_submit(teams):
    teams.add_member(DANA, "Dana")
    await teams.say("execs add <at>Dana</at> --name Dana", ADMIN_AAD)
    item = await a_complaint(teams)
    submit = teams.message("", DANA)
    submit["text"] = ""
    submit["replyToId"] = "1700000000042"
    submit["value"] = {"verb": cards.CLAIM, "feedback_id": item.id}
    assert await teams.send(submit) == 200
    [update] = [c for c in teams.connector.calls if c.method == "PUT"]
    assert update.path.endswith("/activities/1700000000042")
    assert "It's yours" in json.dumps(update.body)
    assert complaints.mine(teams.core, Address("teams", DANA))
