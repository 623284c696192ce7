"""The background worker: classifies stored items in batches and routes them to departments."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import ColumnElement, Engine, Row, func, update
from sqlmodel import Session, select

from bot.db import session_scope
from bot.intake.topics import topic_specs
from bot.models import FeedbackItem, Topic, utcnow
from classifiers import Classifier

log = logging.getLogger(__name__)


class ClassifyWorker:
    """Takes unclassified items oldest first; each batch commits on its own.

    A process that stops halfway leaves the rest unclassified, and the next run
    picks them up: nothing is lost and nothing is labelled twice.
    """

    def __init__(self, engine: Engine, classifier: Classifier, batch_size: int = 64) -> None:
        self.engine = engine
        self.classifier = classifier
        self.batch_size = batch_size
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def notify(self) -> None:
        """Wake `run_forever` now; safe from any thread (ingest runs in executor threads)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # asyncio.Event is not thread-safe: setting it from another thread can lose the wake-up
            loop.call_soon_threadsafe(self.wake.set)

    def refresh_topics(self) -> None:
        """Reload topics and examples from the database into the classifier."""
        with session_scope(self.engine) as session:
            self.classifier.set_topics(topic_specs(session))

    def pending(self) -> int:
        """How many stored items still wait for classification."""
        return self._count(_unclassified())

    def relabellable(self) -> int:
        """How many stored items `reclassify` would label again."""
        return self._count(_machine_labelled())

    def _count(self, conditions: tuple[ColumnElement[bool], ...]) -> int:
        with session_scope(self.engine) as session:
            return session.exec(select(func.count()).where(*conditions)).one()

    def run_batch(self) -> int:
        """Classify and route one batch of new items; returns how many it labelled."""
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(FeedbackItem.id, FeedbackItem.display_text)
                .where(*_unclassified())
                .order_by(FeedbackItem.id)
                .limit(self.batch_size)
            ).all()
            self._label(session, rows, FeedbackItem.classified_at.is_(None))
            return len(rows)

    def reclassify(self, progress: Callable[[int], None] | None = None) -> int:
        """Label the whole stored catalogue again, except items a person labelled by hand."""
        self.refresh_topics()
        last_id, total = 0, 0
        while True:
            with session_scope(self.engine) as session:
                rows = session.exec(
                    select(FeedbackItem.id, FeedbackItem.display_text)
                    .where(*_machine_labelled(), FeedbackItem.id > last_id)
                    .order_by(FeedbackItem.id)
                    .limit(self.batch_size)
                ).all()
                if not rows:
                    return total
                self._label(session, rows, FeedbackItem.labelled_by.is_(None))
            last_id, total = rows[-1][0], total + len(rows)
            if progress:
                progress(len(rows))

    def _label(self, session: Session, rows: Sequence[Row], still: ColumnElement[bool]) -> None:
        """Write the classifier's labels and route to departments, where `still` holds."""
        if not rows:
            return
        routes = {t.name: (t.id, t.department_id) for t in session.exec(select(Topic))}
        labels = self.classifier.classify([text for _, text in rows])
        now = utcnow()
        for (item_id, _), label in zip(rows, labels, strict=True):
            topic_id, department_id = routes.get(label.topic or "", (None, None))
            session.execute(
                update(FeedbackItem)
                .where(FeedbackItem.id == item_id, still)  # a person's label set meanwhile wins
                .values(
                    sentiment=label.sentiment,
                    sentiment_score=label.sentiment_score,
                    topic_id=topic_id,
                    topic_confidence=label.topic_confidence,
                    department_id=department_id,
                    model_version=label.model_version,
                    classified_at=now,
                )
            )

    def run_pending(self, progress: Callable[[int], None] | None = None) -> int:
        """Classify until nothing is left; `progress` hears each batch's size."""
        total = 0
        while done := self.run_batch():
            total += done
            if progress:
                progress(done)
        return total

    async def run_forever(self, interval: float) -> None:
        """Classify in a thread whenever woken by ingest or every `interval` seconds.

        Topics are reloaded each round, so changes made by another process apply too.
        """
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.to_thread(self.refresh_topics)
                await asyncio.to_thread(self.run_pending)
            except Exception:  # a bad batch must not kill the worker; it is retried next round
                log.exception("classification batch failed; retrying")
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=interval)


def _unclassified() -> tuple[ColumnElement[bool], ...]:
    return (FeedbackItem.classified_at.is_(None), FeedbackItem.deleted_at.is_(None))


def _machine_labelled() -> tuple[ColumnElement[bool], ...]:
    return (FeedbackItem.labelled_by.is_(None), FeedbackItem.deleted_at.is_(None))
