"""Digests: SQL aggregates over a department's period and the one before it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.digests.chart import sentiment_chart
from bot.models import ComplaintAssignment, Department, Executive, FeedbackItem, Topic
from bot.ports import InboundFeedback

END = datetime(2026, 11, 24, 9, tzinfo=UTC)
START = END - timedelta(days=1)


def _add(session, department, topic, n, *, sentiment, score, when, deleted=False):
    for _ in range(n):
        index = len(session.exec(select(FeedbackItem.id)).all())
        session.add(
            FeedbackItem(
                source="t",
                external_id=str(index),
                text=f"raw {index} jo@example.com",
                display_text=f"{sentiment} {score} #{index} [email]",
                created_at=when,
                sentiment=sentiment,
                sentiment_score=score,
                topic_id=topic.id if topic else None,
                department_id=department.id,
                classified_at=when,
                deleted_at=when if deleted else None,
            )
        )
        session.flush()


def test_digest_counts_compares_and_quotes(core):
    with core.session() as session:
        billing = session.exec(select(Department).where(Department.name == "Billing")).one()
        charges = session.exec(select(Topic).where(Topic.name == "Billing & charges")).one()
        refunds = session.exec(select(Topic).where(Topic.name == "Returns & refunds")).one()
        logistics = session.exec(select(Department).where(Department.name == "Logistics")).one()
        now, before = START + timedelta(hours=2), START - timedelta(hours=2)
        _add(session, billing, charges, 3, sentiment="negative", score=-0.9, when=now)
        _add(session, billing, charges, 1, sentiment="negative", score=-0.4, when=now)
        _add(session, billing, refunds, 2, sentiment="positive", score=0.8, when=now)
        _add(session, billing, refunds, 1, sentiment="neutral", score=0.0, when=now)
        _add(session, billing, charges, 1, sentiment="negative", score=-1.0, when=now, deleted=True)
        _add(session, billing, charges, 2, sentiment="positive", score=0.5, when=before)
        _add(session, logistics, None, 5, sentiment="negative", score=-0.99, when=now)
        _add(session, billing, charges, 4, sentiment="negative", score=-0.9, when=END)  # next day

    digest = core.digest(billing, START, END)

    assert digest.volume == 7
    assert digest.sentiment == {"negative": 4, "neutral": 1, "positive": 2}
    assert digest.previous_sentiment == {"negative": 0, "neutral": 0, "positive": 2}
    assert [(t.name, t.count, t.previous) for t in digest.topics] == [
        ("Billing & charges", 4, 2),
        ("Returns & refunds", 3, 0),
    ]
    assert [q.score for q in digest.negative] == [-0.9, -0.9, -0.9]
    assert [q.score for q in digest.positive] == [0.8, 0.8]
    assert all(q.topic == "Billing & charges" for q in digest.negative)
    quoted = " ".join(q.text for q in digest.negative + digest.positive)
    assert "@" not in quoted and "[email]" in quoted
    assert round(digest.share("negative"), 3) == round(4 / 7, 3)


def test_a_quiet_department_gets_an_empty_digest(core):
    logistics = core.department("logistics")
    digest = core.digest(logistics, START, END)
    assert digest.volume == 0 and digest.topics == [] and digest.negative == []


def test_personal_data_never_reaches_a_digest(core):
    core.ingest(
        [
            InboundFeedback(
                "webhook",
                "pii-1",
                "My parcel never arrived, the courier lied. Call me on (415) 555-0132 "
                "or write to angry.customer@example.com, card 5500-0000-0000-0004.",
                created_at=START + timedelta(hours=1),
            )
        ]
    )
    core.worker.run_pending()
    digest = core.digest(core.department("Logistics"), START, END)
    assert digest.volume == 1
    shown = repr(digest)
    for secret in ("555-0132", "angry.customer", "5500"):
        assert secret not in shown


def test_the_chart_counts_each_day_and_renders_a_png(core):
    with core.session() as session:
        billing = session.exec(select(Department).where(Department.name == "Billing")).one()
        charges = session.exec(select(Topic).where(Topic.name == "Billing & charges")).one()
        _add(session, billing, charges, 2, sentiment="negative", score=-0.9, when=START)
        _add(session, billing, charges, 1, sentiment="positive", score=0.9, when=START)
        old = END - timedelta(days=20)
        _add(session, billing, charges, 5, sentiment="negative", score=-0.9, when=old)
    digest = core.digest(billing, START, END)
    assert len(digest.daily) == 14 and digest.daily[-1].day == END.date()
    day = next(d for d in digest.daily if d.day == START.date())
    assert (day.negative, day.neutral, day.positive) == (2, 0, 1)
    assert sum(d.negative for d in digest.daily) == 2  # 20 days ago is off the chart
    png = sentiment_chart(digest)
    assert png.startswith(b"\x89PNG") and len(png) > 5000


def test_you_said_we_did_and_open_complaints(core):
    with core.session() as session:
        billing = session.exec(select(Department).where(Department.name == "Billing")).one()
        charges = session.exec(select(Topic).where(Topic.name == "Billing & charges")).one()
        _add(session, billing, charges, 3, sentiment="negative", score=-0.9, when=START)
        items = session.exec(select(FeedbackItem).order_by(FeedbackItem.id)).all()
        boss = Executive(name="Dana Boss", user_id="UDANA")
        session.add(boss)
        session.flush()
        session.add(
            ComplaintAssignment(feedback_id=items[0].id, executive_id=boss.id, month="2026-11")
        )
        session.add(
            ComplaintAssignment(
                feedback_id=items[1].id,
                executive_id=boss.id,
                month="2026-11",
                status="resolved",
                note="Refunded and fixed the biller",
                resolved_at=START + timedelta(hours=3),
            )
        )
        session.add(
            ComplaintAssignment(
                feedback_id=items[2].id,
                executive_id=boss.id,
                month="2026-10",
                status="resolved",
                note="old news",
                resolved_at=START - timedelta(days=3),
            )
        )
    digest = core.digest(billing, START, END)
    assert digest.open_complaints == 1
    assert [(r.note, r.executive) for r in digest.resolved] == [
        ("Refunded and fixed the biller", "Dana Boss")
    ]
    assert "[email]" in digest.resolved[0].text and "@" not in digest.resolved[0].text


def test_other_languages_are_counted_apart_and_only_sure_feelings_are_quoted(core):
    from adapters.slack.blocks import digest_blocks
    from adapters.teams.cards import digest_card

    texts = {
        "fr": "Le colis est arrivé avec trois semaines de retard, personne ne répond.",
        "meh": "Delivery was fine. Nothing special either way.",
        "joy": "Brilliant service, the courier was so kind and the parcel came early. Thank you!",
    }
    core.ingest([InboundFeedback("webhook", key, text) for key, text in texts.items()])
    core.worker.run_pending()
    with core.session() as session:
        department = session.exec(select(Department).where(Department.name == "Logistics")).one()
        items = {i.external_id: i for i in session.exec(select(FeedbackItem))}
        for item in items.values():
            item.department_id = department.id
            session.add(item)
    assert (items["fr"].language, items["fr"].readable) == ("fr", False)
    assert items["joy"].readable and items["joy"].sentiment_confidence is not None
    now = datetime.now(UTC) + timedelta(minutes=1)
    digest = core.digest(department, now - timedelta(days=1), now)
    assert digest.other_languages == 1 and [q.text for q in digest.foreign] == [texts["fr"]]
    assert digest.volume == 2  # the French item is not counted as any feeling
    quoted = [q.text for q in digest.positive + digest.negative]
    assert texts["fr"] not in quoted and texts["meh"] not in quoted
    assert texts["joy"] in quoted
    slack = json.dumps(digest_blocks(digest, ["Delivery"]), ensure_ascii=False)
    teams = json.dumps(digest_card(digest, ["Delivery"], None), ensure_ascii=False)
    for rendered in (slack, teams):
        assert "1 items in other languages" in rendered and "trois semaines" in rendered


def test_only_sure_complaints_go_to_executives(core):
    from bot.executives import complaints

    core.ingest(
        [InboundFeedback("webhook", "angry", "You lost my parcel and refused a refund. Awful!")]
    )
    core.worker.run_pending()
    assert [c.text for c in complaints.queue(core)] == [
        "You lost my parcel and refused a refund. Awful!"
    ]
    with core.session() as session:
        item = session.exec(select(FeedbackItem)).one()
        item.sentiment_confidence = 0.5  # the model was not sure
        session.add(item)
    assert complaints.queue(core) == []
