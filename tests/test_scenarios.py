"""Scenarios written once and run on Slack and on Teams: what one platform's people can do,
the other's can too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlmodel import select

from bot.models import Department, Executive, FeedbackItem
from tests.backends import Chat, slack_chat, teams_chat

pytestmark = pytest.mark.asyncio(loop_scope="function")

COMPLAINT = "Worst service ever: you lost my parcel, charged me twice and nobody answers. Awful."


@pytest_asyncio.fixture(loop_scope="function", params=["slack", "teams"])
async def chat(request, tmp_path, classifier) -> AsyncIterator[Chat]:
    backend = slack_chat if request.param == "slack" else teams_chat
    async with backend(tmp_path, classifier) as running:
        yield running


def items(chat: Chat) -> list[FeedbackItem]:
    with chat.core.session() as session:
        return list(session.exec(select(FeedbackItem).order_by(FeedbackItem.id)))


async def test_help_and_unknown_input(chat):
    assert "Upside commands" in await chat.command("help")
    reply = await chat.command("frobnicate")
    assert "Unknown command frobnicate" in reply and "Upside commands" in reply
    assert "topics add NAME" in await chat.command("help topics")
    assert "could not read" in await chat.command('feedback "unclosed')


async def test_feedback_sent_to_the_bot_is_stored(chat):
    reply = await chat.command("feedback The checkout page froze twice & lost my basket")
    assert "stored as feedback #" in reply
    [item] = items(chat)
    assert item.source == f"{chat.platform}-command"
    assert item.text == "The checkout page froze twice & lost my basket"


async def test_admins_configure_and_others_are_refused(chat):
    assert "needs the admin role" in await chat.command("topics add Refunds --department Care")
    assert "needs the admin role" in await chat.command("channels watch", in_channel=True)
    assert "saved" in await chat.command("departments add Care", who="admin")
    reply = await chat.command(
        'topics add Refunds --department Care --description "Money back"', who="admin"
    )
    assert "Topic Refunds saved" in reply
    assert "Refunds → Care: Money back" in await chat.command("topics")
    assert "saved" in await chat.command(
        'topics examples Refunds "where is my refund"', who="admin"
    )


async def test_a_watched_channel_turns_messages_into_feedback(chat):
    await chat.customer_says("Before watching: not feedback")
    assert items(chat) == []
    assert "is now a feedback channel" in await chat.command(
        "channels watch", who="admin", in_channel=True
    )
    await chat.customer_says("The new app update deleted all my saved addresses")
    [item] = items(chat)
    assert item.source == chat.platform and item.channel == chat.channel
    assert item.text == "The new app update deleted all my saved addresses" and item.link
    assert chat.channel in await chat.command("channels")
    assert "no longer" in await chat.command("channels unwatch", who="admin", in_channel=True)
    await chat.customer_says("After unwatching: not feedback")
    assert len(items(chat)) == 1


async def test_executives_claim_and_resolve_with_a_reply_in_the_source_thread(chat):
    await chat.command("channels watch", who="admin", in_channel=True)
    reply = await chat.command(f"execs add {chat.mention('dana')} --name Dana", who="admin")
    assert "is an executive" in reply
    with chat.core.session() as session:
        dana = session.exec(select(Executive)).one()
    assert (dana.platform, dana.user_id) == (chat.platform, chat.user_id("dana"))
    await chat.customer_says(COMPLAINT)
    chat.core.worker.run_pending()
    [complaint] = items(chat)
    assert complaint.sentiment == "negative"
    assert "needs the executive role" in await chat.command("claim")
    assert "It's yours" in await chat.command("claim", who="dana")
    assert f"#{complaint.id}" in await chat.command("mine", who="dana")
    reply = await chat.command(f"resolve {complaint.id} Refunded and called them", who="dana")
    assert "resolved" in reply and "source thread" in reply
    assert chat.thread_replies() == ["Resolved: Refunded and called them"]
    assert "1 of 1 resolved" in await chat.command("scoreboard", who="dana")


async def test_a_department_posts_its_digest_in_its_own_channel(chat):
    await chat.command("channels watch", who="admin", in_channel=True)
    reply = await chat.command(
        f"departments add Support --channel {chat.channel_mention()}", who="admin"
    )
    assert "saved" in reply
    with chat.core.session() as session:
        department = session.exec(select(Department).where(Department.name == "Support")).one()
    assert (department.platform, department.channel) == (chat.platform, chat.channel)
    await chat.command('topics add Delivery --department Support --description "Parcels"', "admin")
    await chat.customer_says("My parcel arrived late and the box was crushed")
    chat.core.worker.run_pending()
    assert "Posted Support's digest" in await chat.command("digest now Support", who="admin")
    [digest] = chat.channel_posts()
    assert "Support" in digest


@pytest.mark.parametrize("in_channel", [False, True], ids=["direct", "channel"])
async def test_every_command_answers_where_it_is_typed(chat, in_channel):
    replies = {
        "help": "Upside commands",
        "topics": "Topics",
        "departments": "Departments",
        "channels": "feedback channels",
        "queue": "complaints",
        "mine": "executive role",
        "claim": "executive role",
        "release 1": "executive role",
        "resolve 1 done": "executive role",
        "scoreboard": "executive role",
        "execs": "No executives yet",
        "digest now Nowhere": "no department 'Nowhere'",
        "feedback Lovely staff in the Leeds store": "stored as feedback",
    }
    for command, expected in replies.items():
        reply = await chat.command(command, in_channel=in_channel)
        assert expected.casefold() in reply.casefold(), (command, reply)
    assert "Executive complaints scoreboard" in await chat.command("scoreboard", who="admin")
