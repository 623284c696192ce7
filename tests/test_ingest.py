"""Ingest: validation with reasons, redaction, de-duplication, storage before classification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import func, select

from bot.intake.ingest import validate
from bot.models import FeedbackItem
from bot.ports import InboundFeedback


def feedback(external_id: str = "1", text: str = "The parcel was late", **kw) -> InboundFeedback:
    return InboundFeedback(
        source=kw.pop("source", "webhook"), external_id=external_id, text=text, **kw
    )


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (feedback(text=""), "empty text"),
        (feedback(text=" \n\t "), "empty text"),
        (feedback(external_id=" "), "missing external id"),
        (feedback(source=""), "missing source"),
        (feedback(text="x" * 101), "text is 101 characters; the limit is 100"),
        (feedback(external_id="x" * 201), "source or external id too long"),
    ],
)
def test_invalid_items_are_refused_with_a_reason(item, reason):
    assert reason in (validate(item, max_length=100) or "")


def test_valid_item_passes():
    assert validate(feedback(text="x" * 100), max_length=100) is None


def _count(core) -> int:
    with core.session() as session:
        return session.exec(select(func.count()).select_from(FeedbackItem)).one()


def test_duplicates_are_stored_once_and_bad_items_do_not_stop_good_ones(core):
    report = core.ingest(
        [feedback("a"), feedback("b", text="  "), feedback("a"), feedback("c", text="Great!")]
    )
    outcomes = [r.outcome for r in report.results]
    assert outcomes == ["accepted", "rejected", "duplicate", "accepted"]
    assert report.results[2].id == report.results[0].id
    assert report.results[1].reason == "empty text"
    assert _count(core) == 2
    again = core.ingest([feedback("a"), feedback("c", text="Great!")])
    assert again.count("duplicate") == 2
    assert _count(core) == 2


def test_personal_data_is_redacted_for_employees_and_kept_as_received(core):
    original = (
        "Charged twice on 4111 1111 1111 1111! Email me at sam.lee@example.com "
        "or call +44 20 7946 0958."
    )
    result = core.ingest([feedback("pii", text=original)]).results[0]
    with core.session() as session:
        item = session.get(FeedbackItem, result.id)
    assert item.text == original
    for secret in ("4111", "sam.lee@example.com", "7946"):
        assert secret not in item.display_text
    for placeholder in ("[card]", "[email]", "[phone]"):
        assert placeholder in item.display_text


def test_items_are_stored_unclassified_with_their_metadata(core):
    when = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    item = feedback(
        "meta", channel="support", author="Ana", created_at=when, link="https://x.test/1"
    )
    result = core.ingest([item]).results[0]
    with core.session() as session:
        stored = session.get(FeedbackItem, result.id)
    assert (stored.channel, stored.author, stored.link) == ("support", "Ana", "https://x.test/1")
    assert stored.created_at == when
    assert stored.classified_at is None and stored.sentiment is None
