"""Executives take complaints: the whole flow through signed Slack requests, and races."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from bot.executives import complaints
from bot.executives.complaints import ProgrammeError
from bot.models import ComplaintAssignment, Executive, FeedbackItem, Reveal
from bot.ports import Address, InboundFeedback
from tests.fakes.signing import interaction_body, signed_headers
from tests.fakes.slack_api import RESPONSE_URL_METHOD
from tests.test_slack_app import (  # noqa: F401
    ADMIN,
    ANYONE,
    FEEDBACK_CHANNEL,
    SECRET,
    fixture,
    harness,
)

DANA, ALEX = "UDANA", "UALEX"
COMPLAINTS = [
    "Worst service ever: my parcel was lost and nobody answers. Awful.",
    "You charged my card three times and refused a refund. Disgraceful.",
    "The app crashes at checkout every single time. Useless and infuriating.",
    "Rude staff at the till shouted at my mother. Never again.",
]
COMPLAINT = "Worst service ever: you lost my parcel, charged me twice and nobody answers. Awful."

pytestmark = pytest.mark.asyncio(loop_scope="function")


async def test_claim_resolve_and_reply_in_the_source_thread(harness):  # noqa: F811
    assert "is an executive" in await harness.command(
        "execs add <@UDANA|dana> --name Dana --quota 2", user=ADMIN
    )
    await harness.command("execs add <@UALEX|alex> --name Alex", user=ADMIN)
    assert "Dana: 2 a month" in await harness.command("execs")
    message = fixture("message_channel") | {"channel": FEEDBACK_CHANNEL, "text": COMPLAINT}
    assert await harness.event(message, "EvComplaint") == 200
    harness.core.worker.run_pending()
    complaint = harness.items()[0]
    assert complaint.sentiment == "negative"

    assert f"#{complaint.id}" in await harness.command("queue", user=ANYONE)
    assert "needs the *executive* role" in await harness.command("claim", user=ANYONE)
    assert "It's yours" in await harness.command("claim", user=DANA)
    assert "already taken by Dana" in await harness.command(f"claim {complaint.id}", user=ALEX)
    assert "No unassigned complaints" in await harness.command("queue")
    assert f"#{complaint.id}" in await harness.command("mine", user=DANA)
    assert "not open in your name" in await harness.command(f"release {complaint.id}", user=ALEX)

    reply = await harness.command(f"resolve {complaint.id} Refunded and apologised", user=DANA)
    assert "resolved" in reply and "source thread" in reply
    thread = harness.slack.calls_to("chat.postMessage")[-1].args
    assert thread["channel"] == FEEDBACK_CHANNEL and thread["thread_ts"] == message["ts"]
    assert "Refunded and apologised" in thread["text"]
    assert "no open complaints" in await harness.command("mine", user=DANA)
    with harness.core.session() as session:
        step = session.exec(select(ComplaintAssignment)).one()
        assert (step.status, step.note) == ("resolved", "Refunded and apologised")
        assert step.assigned_at <= step.resolved_at


async def test_release_returns_the_complaint_and_keeps_the_record(harness):  # noqa: F811
    await harness.command("execs add <@UDANA|dana> --name Dana", user=ADMIN)
    harness.core.ingest([InboundFeedback("webhook", "c1", COMPLAINT)])
    harness.core.worker.run_pending()
    complaint = harness.items()[0]
    await harness.command(f"claim {complaint.id}", user=DANA)
    assert "back in the queue" in await harness.command(f"release {complaint.id}", user=DANA)
    assert f"#{complaint.id}" in await harness.command("queue")
    assert "It's yours" in await harness.command(f"claim {complaint.id}", user=DANA)
    with harness.core.session() as session:
        steps = session.exec(select(ComplaintAssignment).order_by(ComplaintAssignment.id)).all()
    assert [s.status for s in steps] == ["released", "assigned"] and steps[0].released_at


async def test_two_executives_claiming_at_once_one_wins(core):
    with core.session() as session:
        session.add(Executive(name="Dana", user_id=DANA))
        session.add(Executive(name="Alex", user_id=ALEX))
    core.ingest([InboundFeedback("webhook", "race", COMPLAINT)])
    core.worker.run_pending()
    target = complaints.queue(core)[0].id

    def attempt(user: str) -> str:
        try:
            complaints.claim(core, Address("slack", user), target)
            return "won"
        except ProgrammeError as exc:
            return str(exc)

    for _ in range(3):  # several rounds, releasing in between
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(pool.map(attempt, [DANA, ALEX]))
        assert outcomes.count("won") == 1, outcomes
        assert any("already taken by" in o for o in outcomes)
        with core.session() as session:
            holder = session.exec(
                select(Executive.user_id)
                .join(ComplaintAssignment)
                .where(ComplaintAssignment.status == "assigned")
            ).one()
        complaints.release(core, Address("slack", holder), target)


async def test_removing_an_executive_hands_their_open_complaints_back(harness):  # noqa: F811
    await harness.command("execs add <@UDANA|dana> --name Dana", user=ADMIN)
    harness.core.ingest([InboundFeedback("webhook", f"x{i}", t) for i, t in enumerate(COMPLAINTS)])
    harness.core.worker.run_pending()
    first, second = (c.id for c in complaints.queue(harness.core)[:2])
    await harness.command(f"claim {first}", user=DANA)
    await harness.command(f"claim {second}", user=DANA)
    await harness.command(f"resolve {first} Called them back", user=DANA)

    reply = await harness.command("execs remove <@UDANA|dana>", user=ADMIN)
    assert "no longer an executive" in reply and "1 open complaint(s) are back" in reply
    assert f"#{second}" in await harness.command("queue")
    with harness.core.session() as session:
        steps = {s.feedback_id: s for s in session.exec(select(ComplaintAssignment))}
        dana = session.exec(select(Executive).where(Executive.user_id == DANA)).one()
    assert steps[first].status == "resolved" and steps[second].status == "released"
    assert steps[second].released_at is not None and not dana.active
    assert "needs the *executive* role" in await harness.command("mine", user=DANA)


async def test_unknown_and_bad_executive_commands(harness):  # noqa: F811
    assert "is not a number" in await harness.command("resolve abc fixed it", user=DANA)
    assert "use `resolve ID NOTE`" in await harness.command("resolve 3", user=DANA)
    assert "needs the *admin* role" in await harness.command("execs add <@U9|x>", user=ANYONE)
    assert "not an executive" in await harness.command("execs remove <@U9|x>", user=ADMIN)
    await asyncio.sleep(0)


async def test_the_monthly_assignment_hands_out_quotas_once_and_tells_each_executive(core):
    import io
    from datetime import date

    from rich.console import Console

    from adapters.console import ConsoleOutbound
    from bot.executives.programme import assign_month

    with core.session() as session:
        session.add(Executive(name="Dana", user_id=DANA, quota=2))
        session.add(Executive(name="Alex", user_id=ALEX, quota=1))
        session.add(
            Executive(
                name="Away",
                user_id="UAWAY",
                quota=3,
                out_of_office_from=date(2026, 11, 30),
                out_of_office_until=date(2026, 12, 4),
            )
        )
    core.ingest([InboundFeedback("webhook", f"m{i}", t) for i, t in enumerate(COMPLAINTS)])
    core.worker.run_pending()
    waiting = len(complaints.queue(core))
    screen = io.StringIO()
    outbound = ConsoleOutbound(Console(file=screen, width=200))
    assert await assign_month(core, outbound, "2026-12", date(2026, 12, 1)) == min(3, waiting)
    assert await assign_month(core, outbound, "2026-12", date(2026, 12, 2)) == 0  # once
    with core.session() as session:
        picks = session.exec(select(ComplaintAssignment)).all()
        mine = {
            user: len([p for p in picks if p.executive_id == boss_id])
            for user, boss_id in session.exec(select(Executive.user_id, Executive.id))
        }
    assert mine["UAWAY"] == 0 and mine[DANA] <= 2 and mine[ALEX] <= 1
    assert len({p.feedback_id for p in picks}) == len(picks)
    assert screen.getvalue().count("DM → ") == len(picks)
    assert "· resolve " in screen.getvalue()


# ------------------------------------------------------------------ the DM's buttons


def _click(harness, user: str, action: str, complaint: int, dm: dict) -> dict:  # noqa: F811
    """A button press on the complaint DM, as Slack posts it."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "trigger_id": f"trigger-{action}-{user}",
        "container": {"type": "message", "channel_id": dm["channel"], "message_ts": dm["ts"]},
        "channel": {"id": dm["channel"]},
        "message": {"type": "message", "ts": dm["ts"], "text": dm["text"]},
        "response_url": harness.slack.response_url,
        "actions": [{"action_id": action, "value": str(complaint), "type": "button"}],
    }


async def _press(harness, user: str, action: str, complaint: int, dm: dict) -> dict:  # noqa: F811
    """Press and return what Upside answered on the response_url."""
    before = len(harness.slack.calls_to(RESPONSE_URL_METHOD))
    assert await harness.post(interaction_body(_click(harness, user, action, complaint, dm))) == 200
    assert await harness.wait(lambda: len(harness.slack.calls_to(RESPONSE_URL_METHOD)) > before)
    return harness.slack.calls_to(RESPONSE_URL_METHOD)[-1].args


def _buttons(message: dict) -> list[str]:
    blocks = message["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def _submit(harness, user: str, form: dict, note: str):  # noqa: F811
    payload = fixture("view_submission_topic")
    payload["user"]["id"] = user
    payload["view"] |= {
        "callback_id": form["callback_id"],
        "private_metadata": form["private_metadata"],
        "state": {"values": {"note": {"value": {"type": "plain_text_input", "value": note}}}},
    }
    body = interaction_body(payload)
    return await harness.http.post("/slack/events", data=body, headers=signed_headers(body, SECRET))


async def test_the_monthly_dm_claims_and_resolves_with_buttons(harness):  # noqa: F811
    from datetime import date

    from bot.executives.programme import assign_month

    await harness.command("execs add <@UDANA|dana> --name Dana --quota 1", user=ADMIN)
    await harness.command("execs add <@UALEX|alex> --name Alex --quota 0", user=ADMIN)
    message = fixture("message_channel") | {"channel": FEEDBACK_CHANNEL, "text": COMPLAINT}
    assert await harness.event(message, "EvDM") == 200
    harness.core.worker.run_pending()
    complaint = harness.items()[0].id

    assert await assign_month(harness.core, harness.adapter.outbound, "2026-12", date(2026, 12, 1))
    dm = harness.slack.calls_to("chat.postMessage")[-1].args
    assert dm["channel"] == f"D{DANA}" and "lost my parcel" in json.dumps(dm["blocks"])
    dm = dm | {"ts": "1700000001.000100"}
    assert _buttons(dm) == ["complaint_claim", "complaint_release", "complaint_resolve"]

    refused = await _press(harness, ALEX, "complaint_claim", complaint, dm)
    assert "already taken by Dana" in refused["text"] and not refused.get("replace_original")
    claimed = await _press(harness, DANA, "complaint_claim", complaint, dm)
    assert claimed["replace_original"] and "It's yours" in claimed["text"]
    assert _buttons(claimed) == ["complaint_release", "complaint_resolve", "complaint_reveal"]

    assert (
        await harness.post(
            interaction_body(_click(harness, DANA, "complaint_resolve", complaint, dm))
        )
        == 200
    )
    assert await harness.wait(lambda: bool(harness.slack.calls_to("views.open")))
    form = harness.slack.calls_to("views.open")[-1].args["view"]
    form = json.loads(form) if isinstance(form, str) else form
    assert form["callback_id"] == "complaint_resolve_form"
    for user, note, error in [
        (ANYONE, "Done", "needs the *executive* role"),
        (ALEX, "Done", "not open in your name"),
        (DANA, "  ", "Say what was done"),
    ]:
        response = await _submit(harness, user, form, note)
        assert error in (await response.json())["errors"]["note"]
    assert (await _submit(harness, DANA, form, "Refunded and apologised")).status == 200

    def updated() -> list:
        return harness.slack.calls_to("chat.update")

    assert await harness.wait(lambda: bool(updated()))
    update = updated()[-1].args
    assert (update["channel"], update["ts"]) == (dm["channel"], dm["ts"])
    assert "note is in the source thread" in update["text"] and _buttons(update) == []
    thread = [
        c.args
        for c in harness.slack.calls_to("chat.postMessage")
        if c.args.get("thread_ts") == message["ts"]
    ]
    assert len(thread) == 1 and "Refunded and apologised" in thread[0]["text"]
    with harness.core.session() as session:
        step = session.exec(select(ComplaintAssignment)).one()
    assert step.status == "resolved" and step.origin == "monthly"
    assert step.assigned_at <= step.claimed_at <= step.resolved_at


async def test_the_release_button_hands_the_complaint_back(harness):  # noqa: F811
    await harness.command("execs add <@UDANA|dana> --name Dana", user=ADMIN)
    harness.core.ingest([InboundFeedback("webhook", "r1", COMPLAINT)])
    harness.core.worker.run_pending()
    complaint = harness.items()[0].id
    await harness.command(f"claim {complaint}", user=DANA)
    dm = {"channel": f"D{DANA}", "ts": "1700000002.000100", "text": "complaint"}

    released = await _press(harness, DANA, "complaint_release", complaint, dm)
    assert released["replace_original"] and _buttons(released) == ["complaint_claim"]
    assert f"#{complaint}" in await harness.command("queue")
    again = await _press(harness, DANA, "complaint_release", complaint, dm)
    assert "not open in your name" in again["text"]
    stranger = await _press(harness, ANYONE, "complaint_claim", complaint, dm)
    assert "needs the *executive* role" in stranger["text"]


async def test_home_topics_are_preferred_and_a_released_complaint_is_not_given_again(core):
    import io
    from datetime import date

    from rich.console import Console

    from adapters.console import ConsoleOutbound
    from bot.executives.programme import assign_month
    from bot.executives.roster import enrol

    core.ingest([InboundFeedback("webhook", f"h{i}", t) for i, t in enumerate(COMPLAINTS)])
    core.worker.run_pending()
    ranked = complaints.queue(core)
    assert len(ranked) >= 3 and ranked[1].topic != ranked[2].topic
    enrol(core, Address("slack", "UONE"), "One", quota=1)
    enrol(core, Address("slack", ALEX), "Alex", quota=1, topics=[ranked[2].topic])
    enrol(core, Address("slack", "UTHREE"), "Three", quota=1)
    outbound = ConsoleOutbound(Console(file=io.StringIO()))

    assert await assign_month(core, outbound, "2026-12", date(2026, 12, 1)) == 3
    alex = complaints.mine(core, Address("slack", ALEX))
    assert [c.id for c in alex] == [ranked[2].id]  # the less severe one, in Alex's home topic

    complaints.release(core, Address("slack", ALEX), ranked[2].id)
    assert await assign_month(core, outbound, "2027-01", date(2027, 1, 4)) == len(ranked) - 3
    with core.session() as session:
        steps = session.exec(
            select(ComplaintAssignment).where(ComplaintAssignment.feedback_id == ranked[2].id)
        ).all()
    assert [s.status for s in steps] == ["released"]  # handed back: not given out again
    assert ranked[2].id in [c.id for c in complaints.queue(core)]


async def test_only_complaints_can_be_claimed(harness):  # noqa: F811
    await harness.command("execs add <@UDANA|dana> --name Dana", user=ADMIN)
    harness.core.ingest([InboundFeedback("webhook", "praise", "Lovely staff, thank you so much!")])
    harness.core.worker.run_pending()
    praise = harness.items()[0]
    assert praise.sentiment == "positive"
    assert f"No complaint #{praise.id}" in await harness.command(f"claim {praise.id}", user=DANA)
    assert "No complaint #999" in await harness.command("claim 999", user=DANA)


async def test_executives_and_admins_see_the_scoreboard(harness):  # noqa: F811
    from datetime import UTC, datetime

    await harness.command("execs add <@UDANA|dana> --name Dana", user=ADMIN)
    harness.core.ingest([InboundFeedback("webhook", "s1", COMPLAINT)])
    harness.core.worker.run_pending()
    complaint = harness.items()[0].id
    await harness.command(f"claim {complaint}", user=DANA)
    await harness.command(f"resolve {complaint} Called and refunded", user=DANA)
    month = f"{datetime.now(UTC):%Y-%m}"

    board = await harness.command("scoreboard", user=DANA)
    assert f"scoreboard, {month}" in board and f"<@{DANA}>: 1 of 1 resolved" in board
    assert "1 of 1 complaints resolved" in await harness.command(f"scoreboard {month}", user=ADMIN)
    assert "needs the *executive* role" in await harness.command("scoreboard", user=ANYONE)
    assert "looks like 2026-12" in await harness.command("scoreboard 2026-13", user=ADMIN)
    assert "No executives took part" not in await harness.command("scoreboard 2020-01", user=DANA)


async def test_mine_lists_a_chat_messages_worth_and_says_how_many_more(core):
    from adapters.console import ConsoleOutbound
    from adapters.slack.markup import mrkdwn
    from bot.commands import MINE_SHOWN, Actor, Commands, Invocation

    dana = Address("slack", DANA)
    with core.session() as session:
        session.add(Executive(name="Dana", user_id=DANA))
    long_words = "Awful, lost & broken <again> " * 60  # redacted text can be this long
    for n in range(MINE_SHOWN + 7):
        core.ingest([InboundFeedback("webhook", f"long-{n}", f"{n}: {long_words}")])
    with core.session() as session:
        for item in session.exec(select(FeedbackItem)):
            item.sentiment, item.sentiment_score = "negative", -0.9
            item.classified_at = item.received_at
            session.add(item)
    for item in complaints.queue(core, limit=100):
        complaints.claim(core, dana, item.id)
    reply = await Commands(core, ConsoleOutbound()).run(Invocation(Actor(dana), "mine", "D1", "i"))
    shown = mrkdwn(reply)
    assert len(shown) < 40_000  # Slack cuts a message's text there
    assert shown.count("• #") == MINE_SHOWN and "and 7 more" in shown


async def test_only_the_holder_reveals_the_words_as_received_and_each_look_is_recorded(
    harness,  # noqa: F811
):
    await harness.command("execs add <@UDANA|dana> --name Dana", user=ADMIN)
    await harness.command("execs add <@UALEX|alex> --name Alex", user=ADMIN)
    contact = "Call me on 07700 900123 or mail jo@example.com."
    harness.core.ingest([InboundFeedback("webhook", "v1", f"{COMPLAINT} {contact}")])
    harness.core.worker.run_pending()
    item = harness.items()[0]
    assert "07700" not in item.display_text and "jo@example.com" not in item.display_text
    dm = {"channel": f"D{DANA}", "ts": "1700000003.000100", "text": "complaint"}

    assert "needs the *executive* role" in await harness.command(f"reveal {item.id}", user=ANYONE)
    refused = await harness.command(f"reveal {item.id}", user=DANA)  # not (yet) hers
    assert "only the executive holding" in refused and "07700" not in refused
    await harness.command(f"claim {item.id}", user=DANA)
    shown = await harness.command(f"reveal {item.id}", user=DANA)
    assert "07700 900123" in shown and "jo@example.com" in shown and "for you alone" in shown
    assert "07700" not in await harness.command(f"reveal {item.id}", user=ALEX)

    pressed = await _press(harness, DANA, "complaint_reveal", item.id, dm)
    assert pressed["response_type"] == "ephemeral" and not pressed.get("replace_original")
    assert "07700 900123" in pressed["text"]
    other = await _press(harness, ALEX, "complaint_reveal", item.id, dm)
    assert "only the executive holding" in other["text"] and "07700" not in other["text"]

    await harness.command(f"resolve {item.id} Called and refunded", user=DANA)
    assert "07700" not in await harness.command(f"reveal {item.id}", user=DANA)
    with harness.core.session() as session:
        dana = session.exec(select(Executive).where(Executive.user_id == DANA)).one()
        looks = session.exec(select(Reveal)).all()
    assert [(r.feedback_id, r.executive_id, r.platform) for r in looks] == [
        (item.id, dana.id, "slack")
    ] * 2
    assert all(r.revealed_at is not None for r in looks)


async def test_the_words_as_received_are_never_shown_where_others_read(core):
    from bot.commands import Actor, Commands, Invocation

    with core.session() as session:
        session.add(Executive(name="Dana", user_id=DANA))
    core.ingest([InboundFeedback("webhook", "p1", f"{COMPLAINT} Call 07700 900123.")])
    core.worker.run_pending()
    target = complaints.claim(core, Address("slack", DANA)).id
    commands = Commands(core, outbound=None)  # type: ignore[arg-type]
    asked = Invocation(Actor(Address("slack", DANA)), f"reveal {target}", "C1", "i1")
    reply = (await commands.run(asked)).plain()
    assert "where you alone see them" in reply and "07700" not in reply
    with core.session() as session:
        assert session.exec(select(Reveal)).all() == []
    alone = Invocation(Actor(Address("slack", DANA)), f"reveal {target}", "D1", "i2", private=True)
    assert "07700 900123" in (await commands.run(alone)).plain()
    complaints.release(core, Address("slack", DANA), target)
    with pytest.raises(PermissionError, match="only the executive holding"):
        complaints.reveal(core, Address("slack", DANA), target)
