"""Following complaints up: 7-day reminders, the weekly nudge and the month-end scoreboard,
sent by the real Slack client to the fake Slack API, once, on explicit clocks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from sqlmodel import select

from adapters.slack.outbound import SlackOutbound, make_client
from bot.core import Upside
from bot.executives.followup import follow_up
from bot.executives.scoreboard import scoreboard
from bot.models import ComplaintAssignment, Executive, FeedbackItem, Notice
from bot.ports import InboundFeedback
from tests.conftest import make_core
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackAPI

pytestmark = pytest.mark.asyncio(loop_scope="function")
DANA, ALEX, LEADERS = "UDANA", "UALEX", "CLEAD"
FRIDAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # the Monday before: 16 Nov, 09:00 nudge
WORDS = [
    "Worst service ever: my parcel was lost and nobody answers. Awful.",
    "You charged my card three times and refused a refund. Disgraceful.",
    "The app crashes at checkout every single time. Useless and infuriating.",
    "Rude staff at the till shouted at my mother. Never again.",
    "Two weeks late, the box crushed, and support hung up on me. Terrible.",
    "Your engineer never came, twice. I took days off for nothing. Appalling.",
]


@dataclass
class Programme:
    """A core with executives and complaints, and Slack (the fake) to reach them."""

    core: Upside
    slack: FakeSlackAPI
    outbound: SlackOutbound
    complaints: list[int]
    executives: dict[str, int]

    def hand(self, user: str, complaint: int, at: datetime, **values: object) -> None:
        """Record an assignment of `complaint` to `user` made at `at`."""
        with self.core.session() as session:
            session.add(
                ComplaintAssignment(
                    feedback_id=self.complaints[complaint],
                    executive_id=self.executives[user],
                    month=f"{at:%Y-%m}",
                    assigned_at=at,
                    **values,
                )
            )

    def notices(self, kind: str) -> list[Notice]:
        with self.core.session() as session:
            return list(session.exec(select(Notice).where(Notice.kind == kind)))

    def dms(self, user: str) -> list[dict]:
        """Messages that reached `user`'s DM (failed attempts left out)."""
        return [
            c.args
            for c in self.slack.calls_to("chat.postMessage")
            if c.args["channel"] == f"D{user}" and not c.failed
        ]


async def _own_token(_department: str | None) -> str | None:
    return None


@pytest_asyncio.fixture(loop_scope="function")
async def programme(database_url, classifier, request) -> AsyncIterator[Programme]:
    leaders = getattr(request, "param", "")
    async with FakeSlackAPI() as slack:
        core = make_core(
            database_url,
            classifier,
            slack_bot_token=BOT_TOKEN,
            slack_api_url=slack.base_url,
            leadership_channel=leaders,
        )
        core.ingest([InboundFeedback("webhook", f"c{i}", text) for i, text in enumerate(WORDS)])
        core.worker.run_pending()
        with core.session() as session:
            found = session.exec(select(FeedbackItem.id).order_by(FeedbackItem.id)).all()
            bosses = [Executive(name="Dana", user_id=DANA), Executive(name="Alex", user_id=ALEX)]
            session.add_all(bosses)
            session.flush()
            executives = {b.user_id: b.id for b in bosses}
        outbound = SlackOutbound(make_client(core.settings), lambda: [], _own_token)
        yield Programme(core, slack, outbound, list(found), executives)  # type: ignore[arg-type]
        core.engine.dispose()


async def test_a_complaint_open_seven_days_is_reminded_once_with_its_buttons(programme):
    programme.hand(DANA, 0, FRIDAY - timedelta(days=8), origin="monthly")
    programme.hand(DANA, 1, FRIDAY - timedelta(days=2), claimed_at=FRIDAY - timedelta(days=2))

    await follow_up(programme.core, programme.outbound, FRIDAY)
    reminders = [m for m in programme.dms(DANA) if "Still open after 8 days" in m["text"]]
    assert len(reminders) == 1
    blocks = reminders[0]["blocks"]
    assert WORDS[0] in json.dumps(blocks)  # the customer's own words
    buttons = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["complaint_claim", "complaint_release", "complaint_resolve"]
    assert [n.key for n in programme.notices("reminder")] == [str(1)]
    assert not programme.notices("scoreboard")  # no leadership channel configured

    sent_before = len(programme.dms(DANA))
    assert await follow_up(programme.core, programme.outbound, FRIDAY + timedelta(hours=1)) == 0
    assert len(programme.dms(DANA)) == sent_before

    later = FRIDAY + timedelta(days=6)  # Thursday: the second complaint is 8 days old
    await follow_up(programme.core, programme.outbound, later)
    assert sorted(n.key for n in programme.notices("reminder")) == ["1", "2"]


async def test_the_weekly_nudge_lists_what_waited_since_monday(programme):
    programme.hand(DANA, 0, FRIDAY - timedelta(days=9), claimed_at=FRIDAY - timedelta(days=9))
    programme.hand(DANA, 1, FRIDAY - timedelta(days=2), claimed_at=FRIDAY - timedelta(days=2))
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    await follow_up(programme.core, programme.outbound, FRIDAY)
    nudges = [m["text"] for m in programme.dms(DANA) if "weekly Upside nudge" in m["text"]]
    assert len(nudges) == 1  # for the week of Monday 16 November
    first = programme.complaints[0]
    assert f"#{first}, 9 days" in nudges[0] and f"#{programme.complaints[1]}" not in nudges[0]
    assert "1 complaint still" in nudges[0]

    await follow_up(programme.core, programme.outbound, monday - timedelta(minutes=1))
    assert len([n for n in programme.notices("nudge") if n.status == "sent"]) == 1
    await follow_up(programme.core, programme.outbound, monday)
    nudges = [m["text"] for m in programme.dms(DANA) if "weekly Upside nudge" in m["text"]]
    assert len(nudges) == 2 and "2 complaints still" in nudges[-1]
    assert sorted(n.key for n in programme.notices("nudge")) == [
        f"2026-W47:{programme.executives[DANA]}",
        f"2026-W48:{programme.executives[DANA]}",
    ]
    assert not programme.dms(ALEX)  # nothing open, no nudge


async def test_nobody_away_is_reminded_or_nudged_until_back(programme):
    with programme.core.session() as session:
        dana = session.get(Executive, programme.executives[DANA])
        dana.out_of_office_from, dana.out_of_office_until = date(2026, 11, 19), date(2026, 11, 22)
        session.add(dana)
    programme.hand(DANA, 0, FRIDAY - timedelta(days=8), claimed_at=FRIDAY - timedelta(days=8))

    assert await follow_up(programme.core, programme.outbound, FRIDAY) == 0
    assert not programme.dms(DANA)
    back = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert await follow_up(programme.core, programme.outbound, back) == 2  # reminder, nudge
    assert {n.kind for n in programme.notices("reminder") + programme.notices("nudge")} == {
        "reminder",
        "nudge",
    }


async def test_slack_failing_is_retried_and_never_marked_sent(programme):
    import time_machine

    programme.hand(DANA, 0, FRIDAY - timedelta(days=8), claimed_at=FRIDAY - timedelta(days=8))
    programme.slack.fail_next("chat.postMessage", status=500, times=4)  # beyond the retries

    with time_machine.travel(FRIDAY, tick=True):
        await follow_up(programme.core, programme.outbound, FRIDAY)
        [reminder] = programme.notices("reminder")
        assert reminder.status == "failed" and reminder.sent_at is None and "500" in reminder.error
        assert [n.status for n in programme.notices("nudge")] == ["sent"]
        assert await follow_up(programme.core, programme.outbound, FRIDAY) == 0  # backing off
    with time_machine.travel(FRIDAY + timedelta(minutes=1, seconds=5), tick=True):
        assert await follow_up(programme.core, programme.outbound, FRIDAY) == 1
    [reminder] = programme.notices("reminder")
    assert (reminder.status, reminder.attempts) == ("sent", 2)
    assert len([m for m in programme.dms(DANA) if "Still open" in m["text"]]) == 1


async def test_a_deleted_complaint_is_not_chased(programme):
    programme.hand(DANA, 0, FRIDAY - timedelta(days=8), claimed_at=FRIDAY - timedelta(days=8))
    with programme.core.session() as session:
        item = session.get(FeedbackItem, programme.complaints[0])
        item.deleted_at = FRIDAY - timedelta(days=1)
        session.add(item)
    assert await follow_up(programme.core, programme.outbound, FRIDAY) == 0
    assert not programme.dms(DANA)


async def test_two_rounds_at_once_send_each_notice_once(programme):
    programme.hand(DANA, 0, FRIDAY - timedelta(days=8), claimed_at=FRIDAY - timedelta(days=8))
    programme.hand(ALEX, 1, FRIDAY - timedelta(days=10), claimed_at=FRIDAY - timedelta(days=10))

    rounds = await asyncio.gather(
        follow_up(programme.core, programme.outbound, FRIDAY),
        follow_up(programme.core, programme.outbound, FRIDAY),
    )
    assert sum(rounds) == 4  # a reminder and a nudge each
    assert len(programme.dms(DANA)) == 2 and len(programme.dms(ALEX)) == 2


@pytest.mark.parametrize("programme", [LEADERS], indirect=True)
async def test_the_month_end_scoreboard_reaches_leadership_once(programme):
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for complaint, hours in enumerate((1, 5, 30)):
        resolved = start + timedelta(hours=hours)
        programme.hand(DANA, complaint, start, status="resolved", resolved_at=resolved)
    programme.hand(DANA, 3, start)
    programme.hand(ALEX, 4, start, status="released", released_at=start + timedelta(days=1))
    programme.hand(ALEX, 5, start, status="resolved", resolved_at=start + timedelta(hours=72))

    standings = {s.user_id: s for s in scoreboard(programme.core, "2026-11")}
    assert standings[DANA].median_to_resolve == timedelta(hours=5)
    assert (standings[ALEX].assigned, standings[ALEX].resolved, standings[ALEX].released) == (
        2,
        1,
        1,
    )

    def posts() -> list[str]:
        calls = programme.slack.calls_to("chat.postMessage")
        return [c.args["text"] for c in calls if c.args["channel"] == LEADERS]

    month_end = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    await follow_up(programme.core, programme.outbound, month_end - timedelta(minutes=1))
    assert not posts()
    await follow_up(programme.core, programme.outbound, month_end)
    await follow_up(programme.core, programme.outbound, month_end + timedelta(hours=3))
    [board] = posts()
    assert "scoreboard, 2026-11" in board and "4 of 6 complaints resolved" in board
    dana, alex = board.splitlines()[2:]
    assert dana == f"• <@{DANA}>: 3 of 4 resolved, median 5 h, 1 open"
    assert alex == f"• <@{ALEX}>: 1 of 2 resolved, median 3.0 days, 1 released"


async def test_the_scheduling_round_sends_the_follow_ups(programme):
    import time_machine

    from bot.scheduler import DigestScheduler

    programme.hand(DANA, 0, FRIDAY - timedelta(days=8), claimed_at=FRIDAY - timedelta(days=8))
    with time_machine.travel(FRIDAY, tick=True):
        task = asyncio.create_task(DigestScheduler(programme.core, programme.outbound).run())
        for _ in range(250):
            if [n for n in programme.notices("reminder") if n.status == "sent"]:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [m for m in programme.dms(DANA) if "Still open after 8 days" in m["text"]]
