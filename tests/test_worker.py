"""The worker: batches, routing to departments, and resuming after a stop."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import event
from sqlmodel import select

from bot.db import make_engine
from bot.intake.topics import correct_topic
from bot.intake.worker import MAX_ATTEMPTS, SetAside, set_aside
from bot.models import Department, FeedbackItem, Topic
from bot.ports import InboundFeedback
from tests.conftest import eventually

MESSAGES = {
    "d1": "My parcel has been stuck in transit for nine days and the courier never turned up.",
    "b1": "You charged my card twice for the same order and the invoice is wrong.",
    "s1": "The staff at the Leeds store were lovely and the shelves were fully stocked.",
    "a1": "The app crashes every time I try to log in to check my order.",
    "x1": "What lovely weather we are having this week.",
}


def _ingest(core) -> None:
    core.ingest(InboundFeedback("test", key, text) for key, text in MESSAGES.items())


def _stored(core) -> dict[str, FeedbackItem]:
    with core.session() as session:
        return {i.external_id: i for i in session.exec(select(FeedbackItem))}


def _department_of(core, item: FeedbackItem) -> str | None:
    with core.session() as session:
        department = session.get(Department, item.department_id) if item.department_id else None
        return department.name if department else None


def test_items_are_classified_and_routed_to_their_topics_department(core):
    _ingest(core)
    assert core.worker.run_pending() == len(MESSAGES)
    items = _stored(core)
    assert _department_of(core, items["d1"]) == "Logistics"
    assert _department_of(core, items["b1"]) == "Billing"
    assert _department_of(core, items["s1"]) == "Stores"
    assert _department_of(core, items["a1"]) == "Digital"
    assert items["d1"].sentiment == "negative" and items["s1"].sentiment == "positive"
    assert all(i.classified_at and i.model_version for i in items.values())
    assert items["x1"].topic_id is None and items["x1"].department_id is None
    assert core.worker.pending() == 0


def test_a_stop_halfway_loses_nothing(sqlite_core):
    _ingest(sqlite_core)
    first = sqlite_core.worker
    first.batch_size = 2
    assert first.run_batch() == 2  # then the process "stops"
    labelled = {k for k, i in _stored(sqlite_core).items() if i.classified_at}
    assert len(labelled) == 2
    # A new process picks up exactly the rest, oldest first.
    from bot.core import Upside

    restarted = Upside(sqlite_core.settings, classifier=sqlite_core.classifier)
    assert restarted.worker.pending() == 3
    assert restarted.worker.run_pending() == 3
    assert all(i.classified_at for i in _stored(sqlite_core).values())


def test_a_correction_moves_the_item_and_teaches_the_topic_at_once(sqlite_core):
    text = "The car park outside is always full"
    sqlite_core.ingest([InboundFeedback("test", "q", text)])
    sqlite_core.worker.run_pending()
    later = "the car park outside is always full on saturdays"
    before = sqlite_core.classifier.classify([later])[0]
    with sqlite_core.session() as session:
        item = session.exec(select(FeedbackItem)).one()
        assert item.topic_id is None  # the model did not know where parking belongs
        stores = session.exec(select(Topic).where(Topic.name == "Store experience")).one()
        correct_topic(session, item, stores, who="U123")
    sqlite_core.worker.refresh_topics()  # what the chat adapters call after a correction
    after = sqlite_core.classifier.classify([later])[0]
    assert after.topic == "Store experience"
    assert after.topic_confidence > before.topic_confidence + 0.15
    with sqlite_core.session() as session:
        item = session.exec(select(FeedbackItem)).one()
        assert (item.topic_id, item.department_id) == (stores.id, stores.department_id)
        assert item.labelled_by == "U123"


def test_the_correction_loop_end_to_end(sqlite_core):
    core = sqlite_core
    core.ingest([InboundFeedback("test", "p1", "The car park outside is always full")])
    core.worker.run_pending()
    with core.session() as session:
        first = session.exec(select(FeedbackItem)).one()
    core.correct_topic(first.id, "Store experience", who="U42")
    core.ingest([InboundFeedback("test", "p2", "Car park outside is always full again")])
    core.worker.run_pending()  # no restart: the next item already learns from the correction
    with core.session() as session:
        second = session.exec(select(FeedbackItem).where(FeedbackItem.external_id == "p2")).one()
        stores = session.exec(select(Topic).where(Topic.name == "Store experience")).one()
    assert second.topic_id == stores.id and second.labelled_by is None


def test_reclassify_relabels_the_catalogue_but_not_hand_labels(sqlite_core):
    core = sqlite_core
    _ingest(core)
    core.worker.run_pending()
    core.correct_topic(_stored(core)["x1"].id, "Store experience", who="U7")
    hand = _stored(core)["x1"]
    with core.session() as session:  # an admin hands every topic to Billing
        billing = session.exec(select(Department).where(Department.name == "Billing")).one()
        for topic in session.exec(select(Topic)):
            topic.department_id = billing.id
            session.add(topic)
    assert core.worker.relabellable() == len(MESSAGES) - 1
    assert core.worker.reclassify() == len(MESSAGES) - 1
    after = _stored(core)
    assert {_department_of(core, after[k]) for k in ("d1", "s1", "a1")} == {"Billing"}
    assert _department_of(core, after["x1"]) == "Stores"  # the person's label stands
    assert (after["x1"].classified_at, after["x1"].topic_id) == (hand.classified_at, hand.topic_id)


class Poisoned:
    """The real classifier, except that it raises on any text with "POISON" in it."""

    def __init__(self, model) -> None:
        self.model = model

    def classify(self, texts):
        if any("POISON" in text for text in texts):
            raise ValueError("the tokenizer choked")
        return self.model.classify(texts)

    def set_topics(self, specs) -> None:
        self.model.set_topics(specs)


def test_an_item_that_keeps_failing_is_set_aside_and_the_rest_flow_on(sqlite_core):
    core = sqlite_core
    core.ingest([InboundFeedback("test", "bad", "POISON in the parcel")])
    _ingest(core)
    worker = core.worker
    worker.classifier = Poisoned(core.classifier)
    worker.run_pending()
    items = _stored(core)
    assert all(items[key].classified_at for key in MESSAGES)  # the bad one blocks nothing
    bad = items["bad"]
    assert bad.classified_at is None and bad.claimed_by is None
    assert bad.classify_attempts == MAX_ATTEMPTS
    assert bad.classify_error == "ValueError: the tokenizer choked"
    assert worker.pending() == 0 and worker.run_pending() == 0  # set aside: not retried
    assert set_aside(core.engine) == SetAside(1, bad.id, bad.classify_error)
    from typer.testing import CliRunner

    from bot.cli import app

    shown = CliRunner().invoke(
        app, ["status"], env={"UPSIDE_DATABASE_URL": core.settings.database_url, "COLUMNS": "200"}
    )
    assert shown.exit_code == 0, shown.output
    assert f"1 item(s) set aside: classification failed 3 times; the latest, item {bad.id}: " in (
        shown.output
    )
    assert "ValueError: the tokenizer choked" in shown.output


async def test_a_database_away_is_one_line_when_it_goes_and_one_when_it_is_back(
    sqlite_core, caplog
):
    _ingest(sqlite_core)
    worker = sqlite_core.worker
    working = worker.engine
    worker.engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/gone")  # refused
    tries: list[object] = []
    event.listen(worker.engine, "do_connect", lambda *_: tries.append(None))
    caplog.set_level(logging.INFO, logger="bot.intake.worker")
    task = asyncio.create_task(worker.run_forever(interval=0.01))
    await asyncio.sleep(0.5)  # many polls' worth of an absent database
    worker.engine = working
    worker.notify()
    assert await eventually(lambda: worker.pending() == 0)
    worker.stop()
    await asyncio.wait_for(task, 5)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["ERROR", "WARNING"], lines
    assert lines[0][1].startswith("database unavailable, classification paused: OperationalError")
    assert lines[1][1] == "database is back: classifying again"
    assert not any(r.exc_info for r in caplog.records)  # no tracebacks
    assert len(tries) <= 10  # it backs off: not a try every 10 ms
