"""Slack's limits, whatever the data and however slow Slack is.

Every message and view Upside builds for Slack is checked with slack_sdk's block models and
`tests.slack_limits` on generated extremes: hundreds of topics, departments and complaints,
5,000-character texts, every character that means something to mrkdwn, emoji. And every
request is acknowledged inside Slack's 3 seconds while its Web API takes 5.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from adapters.slack.blocks import digest_blocks, digest_text, parse_wrong_topic, topic_options
from adapters.slack.complaints import _form, complaint_blocks, complaint_text
from adapters.slack.home import COMPLAINTS_SHOWN, TOPICS_SHOWN, HomeData, home_view
from adapters.slack.interactions import _topic_form
from bot.commands import TOPICS_PAGE
from bot.digests.build import DepartmentMood
from bot.digests.digest import Digest, Quote, Resolution, TopicCount
from bot.executives.views import ComplaintView
from bot.models import Department, FeedbackItem, Topic, utcnow
from bot.ports import InboundFeedback
from tests.fakes.signing import event_body, interaction_body, signed_headers, slash_command_body
from tests.fakes.slack_api import RESPONSE_URL_METHOD
from tests.slack_limits import MESSAGE_TEXT, check_message, check_options, check_view
from tests.test_slack_app import (  # noqa: F401 (harness: a fixture)
    ADMIN,
    ANYONE,
    FEEDBACK_CHANNEL,
    GROUP_ADMIN,
    SECRET,
    fixture,
    harness,
    topic_form_submission,
)

# A behavioural bound, not a benchmark: inside Slack's 3 seconds and well below the 5 seconds
# the fake Web API takes, so an acknowledgement that waited on Slack fails; the margin leaves
# room for a loaded machine, where storing a shared message competes with the work that earlier
# requests left running (it failed at 0.3 s once in CI: 0.88 s).
ACK_SECONDS = 2.0
SLOW_SECONDS = 5.0
# What the listeners ask Slack; not auth.test, which Bolt asks once per process, on its first
# request, to learn the bot's own ids.
SLOW_METHODS = (
    "views.publish",
    "views.open",
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "usergroups.users.list",
    "users.info",
    "conversations.info",
)
PIECES = [
    *"aZ09 .,:;!?#@/\\'\"",
    *"<>&|*_~`\n\t",
    "&amp;",
    "&lt;",
    "<!channel>",
    "<@U0123>",
    "<#C0123|general>",
    "<https://x.test/?a=1&b=2|click>",
    "🚚",
    "😡",
    "👍🏽",
    "🏳️‍🌈",
    "é",
    "Ü",
    "\u200b",
]
EXTREME = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

on_a_loop = pytest.mark.asyncio(loop_scope="function")


def texts(most: int = 5_000) -> st.SearchStrategy[str]:
    """Any text up to `most` characters, often the longest: a random run, repeated."""
    run = st.lists(st.sampled_from(PIECES), min_size=1, max_size=40).map("".join)
    return st.builds(lambda words, times: (words * times)[:most], run, st.integers(1, most))


def names() -> st.SearchStrategy[str]:
    """A stored name: 1 to 100 characters, not blank."""
    return texts(100).filter(str.strip)


links = st.sampled_from(
    ["", "https://x.test/p/1", "https://x.test/?a=<1>&b=|2", "https://" + "a" * 5_000]
)
quotes = st.builds(
    Quote, st.just(0), texts(), st.floats(-1, 1), st.none() | names(), names(), links
)
digests = st.builds(
    Digest,
    department=names(),
    start=st.just(datetime(2026, 11, 23, 9, tzinfo=UTC)),
    end=st.just(datetime(2026, 11, 24, 9, tzinfo=UTC)),
    sentiment=st.fixed_dictionaries(
        {s: st.integers(0, 10**6) for s in ("negative", "neutral", "positive")}
    ),
    previous_sentiment=st.fixed_dictionaries(
        {s: st.integers(0, 10**6) for s in ("negative", "neutral", "positive")}
    ),
    topics=st.lists(
        st.builds(TopicCount, names(), st.integers(0, 10**6), st.integers(0, 10**6)), max_size=300
    ),
    negative=st.lists(quotes, max_size=80),
    positive=st.lists(quotes, max_size=80),
    open_complaints=st.integers(0, 10**6),
    resolved=st.lists(st.builds(Resolution, texts(), texts(2_000), names(), links), max_size=20),
)
complaint_views = st.builds(
    ComplaintView,
    st.integers(1, 10**9),
    texts().filter(str.strip),
    st.floats(-1, 1),
    st.none() | names(),
    links,
    st.sampled_from(["open", "assigned", "claimed", "resolved"]),
)
INTROS = [  # what Upside says above a complaint
    "It's yours.",
    "You handed it back to the queue.",
    "Complaint #123456789 resolved. Thank you. (The source thread could not be answered.)",
    "This month's complaint for you: please handle it personally.",
]


# ------------------------------------------------------------------ messages and views


@EXTREME
@given(digest=digests, topics=st.lists(names(), max_size=500))
def test_every_digest_is_within_slack_limits(digest, topics):
    quotes = iter(range(10**9, 1, -1))  # a quote is one item: its id is unique to it
    digest = replace(
        digest,
        negative=[replace(q, id=next(quotes)) for q in digest.negative],
        positive=[replace(q, id=next(quotes)) for q in digest.positive],
    )
    check_message(digest_text(digest), digest_blocks(digest, topics))


@EXTREME
@given(complaint=complaint_views, intro=st.sampled_from(INTROS))
def test_every_complaint_message_is_within_slack_limits(complaint, intro):
    check_message(complaint_text(complaint, intro), complaint_blocks(complaint, intro))
    check_view(_form({"id": complaint.id, "channel": "D0123", "ts": "1700000000.000100"}))


@EXTREME
@given(
    moods=st.lists(st.builds(DepartmentMood, names(), *[st.integers(0, 10**6)] * 3), max_size=300),
    held=st.lists(complaint_views, max_size=300),
    topics=st.none() | st.lists(st.tuples(names(), texts(500)), max_size=TOPICS_SHOWN),
    more_topics=st.integers(0, 10_000),
)
def test_every_home_tab_is_within_slack_limits(moods, held, topics, more_topics):
    count = len(topics or []) + more_topics
    view = home_view(HomeData(moods, held, topics, count))

    check_view(view)
    text = json.dumps(view, ensure_ascii=False)
    shown = re.findall(r"• #(\d+):", text)
    assert shown == [str(c.id) for c in held[: len(shown)]] and len(shown) <= COMPLAINTS_SHOWN
    assert (f"and {len(held) - len(shown)} more: `/upside mine`" in text) == (
        len(shown) < len(held)
    )
    if topics is not None and more_topics:
        assert f"and {more_topics} more: `/upside topics`" in text


@EXTREME
@given(quote=st.integers(1, 10**12), offered=st.lists(names(), max_size=300))
def test_every_wrong_topic_answer_is_within_slack_limits(quote, offered):
    options = topic_options(quote, offered)

    check_options(options)
    assert [parse_wrong_topic(o["value"]) for o in options] == [
        (quote, name) for name in list(dict.fromkeys(offered))[:100]
    ]


def test_the_topic_form_offers_a_topics_department_among_slacks_hundred(sqlite_core):
    with sqlite_core.session() as session:
        owners = [Department(name=f"Zone {n:03} " + "&<>" * 30) for n in range(150)]
        session.add_all(owners)
        session.flush()
        session.add(Topic(name="T" * 100, description="<&>" * 166, department_id=owners[-1].id))
        session.commit()
    context = SimpleNamespace(core=sqlite_core)  # all `_topic_form` reads

    for name in ("", "T" * 100):
        check_view(_topic_form(context, name))  # also: its initial option is among the options


@on_a_loop
async def test_topic_pages_stay_under_slacks_message_size_and_reach_every_topic(harness):  # noqa: F811
    with harness.core.session() as session:
        owner = Department(name="<&>" * 33 + "&")
        session.add(owner)
        session.flush()
        for n in range(500):  # every name and description at its longest, all escapes
            name = f"{n:03}" + "&<>*_~|" * 14 + "&"
            session.add(
                Topic(name=name[:100], description="&<>" * 166 + "&&", department_id=owner.id)
            )
        session.commit()
        pages = -(-len(session.exec(select(Topic.id)).all()) // TOPICS_PAGE)

    seen, page, reply = set(), 1, await harness.command("topics")
    while True:
        check_message(reply, [])
        assert len(reply) <= MESSAGE_TEXT
        listed = re.findall(r"^• \*(.{3})", reply, flags=re.MULTILINE)
        assert 0 < len(listed) <= TOPICS_PAGE and not seen & set(listed)
        seen |= set(listed)
        if f"`topics {page + 1}`" not in reply:
            break
        page += 1
        reply = await harness.command(f"topics {page}" if page % 2 else f"topics list {page}")
    assert seen >= {f"{n:03}" for n in range(500)} and page == pages
    assert f"{pages} pages" in await harness.command(f"topics {pages + 1}")


@on_a_loop
async def test_home_tab_of_an_admin_with_hundreds_of_topics_is_published_within_limits(harness):  # noqa: F811
    with harness.core.session() as session:
        owner = session.exec(select(Department)).first()
        for n in range(300):
            session.add(
                Topic(name=f"Z{n:03} " + "&" * 95, description="<" * 500, department_id=owner.id)
            )
        session.commit()
    assert await harness.event(fixture("app_home_opened") | {"user": ADMIN}, "EvHome") == 200
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.publish")))

    view = harness.slack.calls_to("views.publish")[-1].args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    check_view(view)
    assert "more: `/upside topics` lists them all" in json.dumps(view)


@on_a_loop
async def test_wrong_topic_searches_every_topic(harness):  # noqa: F811
    with harness.core.session() as session:
        owner = session.exec(select(Department)).first()
        session.add_all(Topic(name=f"Aisle {n:03}", department_id=owner.id) for n in range(150))
        session.add(Topic(name="Zebra crossing", department_id=owner.id))
        session.add(Topic(name="Crossed wires", department_id=owner.id))
        session.commit()
    quote = harness.core.ingest([_feedback("The crossing is unsafe")]).results[0].id
    with harness.core.session() as session:  # classified as "Aisle 007"
        item = session.get(FeedbackItem, quote)
        item.topic_id = session.exec(select(Topic.id).where(Topic.name == "Aisle 007")).one()
        item.classified_at = utcnow()  # so the background worker leaves it be
        session.add(item)
        session.commit()

    async def offered(typed: str, block_id: str = f"quote-{quote}") -> list[str]:
        payload = {
            "type": "block_suggestion",
            "user": {"id": ANYONE, "username": "u1", "name": "u1", "team_id": "T0001"},
            "container": {"type": "message", "message_ts": "1700000600.000600", "channel_id": "C3"},
            "api_app_id": "A0001",
            "token": "verification-token",
            "action_id": "wrong_topic",
            "block_id": block_id,
            "value": typed,
            "team": {"id": "T0001", "domain": "test"},
            "channel": {"id": "C3", "name": "voice-billing"},
        }
        body = interaction_body(payload)
        response = await harness.http.post(
            "/slack/events", data=body, headers=signed_headers(body, SECRET)
        )
        assert response.status == 200
        options = (await response.json())["options"]
        check_options(options)
        assert all(parse_wrong_topic(o["value"])[0] == quote for o in options)
        return [o["text"]["text"] for o in options]

    everything = await offered("")
    assert len(everything) == 100 and "Aisle 007" not in everything  # not its own topic
    assert await offered("zebra") == ["Zebra crossing"]  # beyond the first 100, found
    assert await offered(" CROSS") == ["Crossed wires", "Zebra crossing"]  # starting with it first
    assert await offered("aisle 00") == [f"Aisle 00{n}" for n in range(10) if n != 7]
    assert await offered("%") == [] and await offered("_") == []
    assert await offered("zebra", block_id="summary") == []


# ------------------------------------------------------------------ acknowledged first


@on_a_loop
async def test_every_request_is_acknowledged_before_slack_is_called(harness):  # noqa: F811
    await harness.command("help")  # Bolt's one auth.test, at full speed
    harness.slack.slow = dict.fromkeys(SLOW_METHODS, SLOW_SECONDS)
    harness.slack.usergroups["S0ADMINS"] = [GROUP_ADMIN]
    item = harness.core.ingest([_feedback("The car park is always full")]).results[0].id
    submission = topic_form_submission(GROUP_ADMIN)  # the role check asks for the admin group
    wrong_topic = fixture("block_actions_wrong_topic")
    wrong_topic["actions"][0]["selected_option"]["value"] = f"{item}|Store experience"
    wrong_topic["response_url"] = harness.slack.response_url
    requests = {
        "app_home_opened event": event_body(fixture("app_home_opened") | {"user": ANYONE}, "EvA1"),
        "message event": event_body(
            fixture("message_channel")
            | {"channel": FEEDBACK_CHANNEL, "text": "<@W9SLOW> says the app froze"},
            "EvA2",
        ),
        "topic_add action": interaction_body(
            {
                "type": "block_actions",
                "user": {"id": GROUP_ADMIN},
                "team": {"id": "T0001"},
                "api_app_id": "A0001",
                "trigger_id": "trigger-slow",
                "container": {"type": "view", "view_id": "V1"},
                "actions": [{"action_id": "topic_add", "value": "new", "type": "button"}],
            }
        ),
        "wrong_topic action": interaction_body(wrong_topic),
        "topic form submission": interaction_body(submission),
        "slash command": slash_command_body(
            "mine", user_id=GROUP_ADMIN, response_url=harness.slack.response_url
        ),
        "message shortcut": interaction_body(fixture("message_shortcut")),
    }

    for request, body in requests.items():
        started = time.perf_counter()
        response = await harness.http.post(
            "/slack/events", data=body, headers=signed_headers(body, SECRET)
        )
        took = time.perf_counter() - started
        assert response.status == 200, request
        assert took < ACK_SECONDS, f"{request} acknowledged after {took:.2f} s"

    def done() -> bool:  # the work followed the acknowledgements
        calls = harness.slack.calls_to
        return (
            len(calls("views.publish")) >= 2  # the Home tab, then its refresh after the form
            and bool(calls("views.open"))
            and len(calls(RESPONSE_URL_METHOD)) >= 3  # help, the topic move, `mine`
            and bool(calls("chat.postEphemeral"))  # the shortcut's thanks
        )

    assert await harness.wait(done, seconds=4 * SLOW_SECONDS)
    with harness.core.session() as session:
        assert session.exec(select(Topic).where(Topic.name == "Parking")).one()
    stored = [i.text for i in harness.items() if "froze" in i.text]
    assert stored == ["@W9SLOW says the app froze"]  # stored at once; named when Slack answers


def _feedback(text: str) -> InboundFeedback:
    return InboundFeedback(source="test", external_id=text, text=text)
