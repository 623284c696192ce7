"""The background worker: classifies stored items in batches and routes them to departments.

Any number of workers, in any processes, share the backlog: each claims a batch
(`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the claim's single UPDATE runs under
the database's one write lock), classifies it without holding a transaction, then writes
the labels and releases the claim. A claim expires, so a worker that dies mid-batch only
delays its items. An item that keeps failing is set aside with its error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Engine, Row, func, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from bot.db import session_scope
from bot.intake.topics import topic_specs
from bot.models import FeedbackItem, Topic, utcnow
from classifiers import Classification

if TYPE_CHECKING:
    from classifiers import Classifier

log = logging.getLogger(__name__)
Labelled = tuple[int, Classification]  # an item's id and the label it was given
MAX_ATTEMPTS = 3  # failed classifications before an item is set aside
LEASE = timedelta(minutes=1)  # how long a claim holds: far longer than one batch takes
MAX_BACKOFF = 60.0  # seconds between tries while the database is away
STOP_GRACE = 8.0  # seconds a stopping worker may take over its batch (SIGTERM gives 10)


class ClassifyWorker:
    """Claims unclassified items oldest first, classifies them and releases each batch.

    A process that stops halfway leaves the rest unclassified, and the next run
    picks them up: nothing is lost and nothing is labelled twice.
    """

    def __init__(self, engine: Engine, classifier: Classifier, batch_size: int = 64) -> None:
        self.engine = engine
        self.classifier = classifier
        self.batch_size = batch_size
        self.name = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._in_hand = threading.Lock()  # one batch at a time per worker, whichever thread asks

    def notify(self) -> None:
        """Wake `run_forever` now; safe from any thread (ingest runs in executor threads)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            # asyncio.Event is not thread-safe: setting it from another thread can lose the wake-up
            loop.call_soon_threadsafe(self.wake.set)

    def stop(self) -> None:
        """Take no more work: the batch in hand is finished and `run_forever` returns."""
        self._stopping.set()
        self.notify()

    def refresh_topics(self) -> None:
        """Reload topics and examples from the database into the classifier."""
        with session_scope(self.engine) as session:
            self.classifier.set_topics(topic_specs(session))

    def pending(self) -> int:
        """How many stored items still wait for classification (set-aside ones excluded)."""
        return self._count(_unclassified())

    def relabellable(self) -> int:
        """How many stored items `reclassify` would label again."""
        return self._count(_machine_labelled())

    def _count(self, conditions: tuple[ColumnElement[bool], ...]) -> int:
        with session_scope(self.engine) as session:
            return session.exec(select(func.count()).where(*conditions)).one()

    def run_batch(self) -> int:
        """Claim, classify, write and release one batch; returns how many items it handled.

        A call while this worker's batch is in hand (the background loop and a command
        in one process) waits for it, so it returns with that batch written too.
        """
        with self._in_hand:
            rows = self._claim()
            try:
                labelled, failed = self._classify(rows)
                with session_scope(self.engine) as session:
                    mine = FeedbackItem.claimed_by == self.name  # an expired claim is not ours
                    self._label(session, labelled, mine, FeedbackItem.classified_at.is_(None))
                    self._fail(session, failed, mine)
            finally:
                if rows:
                    self._release([item_id for item_id, _ in rows])
            return len(rows)

    def _claim(self) -> list[Row]:
        """Mark a batch of free items as this worker's for `LEASE`; returns their ids and texts."""
        now = utcnow()
        free = (
            select(FeedbackItem.id)
            .where(
                *_unclassified(),
                or_(FeedbackItem.claimed_until.is_(None), FeedbackItem.claimed_until < now),
            )
            .order_by(FeedbackItem.id)
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)  # PostgreSQL: rows another claim holds are skipped
        )
        with session_scope(self.engine) as session:
            rows = session.execute(
                update(FeedbackItem)
                .where(FeedbackItem.id.in_(free.scalar_subquery()))
                .values(claimed_by=self.name, claimed_until=now + LEASE)
                .returning(FeedbackItem.id, FeedbackItem.display_text)
                .execution_options(synchronize_session=False)
            ).all()
        return sorted(rows)

    def _release(self, ids: list[int]) -> None:
        """Give up this worker's claims on `ids` (written or not)."""
        with session_scope(self.engine) as session:
            session.execute(
                update(FeedbackItem)
                .where(FeedbackItem.id.in_(ids), FeedbackItem.claimed_by == self.name)
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    def _classify(self, rows: Sequence[Row]) -> tuple[list[Labelled], list[tuple[int, str]]]:
        """Labels for `rows`; when the batch fails, item by item, so one bad item fails alone."""
        if not rows:
            return [], []
        try:
            labels = self.classifier.classify([text for _, text in rows])
            return [(i, label) for (i, _), label in zip(rows, labels, strict=True)], []
        except Exception as exc:
            if len(rows) == 1:
                return [], [(rows[0][0], _error(exc))]
        labelled, failed = [], []
        for item_id, text in rows:
            try:
                labelled.append((item_id, self.classifier.classify([text])[0]))
            except Exception as exc:
                failed.append((item_id, _error(exc)))
        return labelled, failed

    def _fail(self, session: Session, failed: list[tuple[int, str]], mine: ColumnElement) -> None:
        """Count a failed try on each item and keep its error; the last try sets it aside."""
        for item_id, error in failed:
            attempts = session.execute(
                update(FeedbackItem)
                .where(FeedbackItem.id == item_id, mine)
                .values(classify_attempts=FeedbackItem.classify_attempts + 1, classify_error=error)
                .returning(FeedbackItem.classify_attempts)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if attempts is not None and attempts >= MAX_ATTEMPTS:
                log.warning(
                    "item %d set aside after %d failed classifications: %s",
                    item_id,
                    attempts,
                    error,
                )

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
                labels = self.classifier.classify([text for _, text in rows])
                labelled = [(i, label) for (i, _), label in zip(rows, labels, strict=True)]
                self._label(session, labelled)
            last_id, total = rows[-1][0], total + len(rows)
            if progress:
                progress(len(rows))

    def _label(self, session: Session, labelled: list[Labelled], *also: ColumnElement) -> None:
        """Write the labels and route to departments, where no person labelled it meanwhile."""
        if not labelled:
            return
        routes = {t.name: (t.id, t.department_id) for t in session.exec(select(Topic))}
        now = utcnow()
        for item_id, label in labelled:
            topic_id, department_id = routes.get(label.topic or "", (None, None))
            session.execute(
                update(FeedbackItem)
                .where(FeedbackItem.id == item_id, FeedbackItem.labelled_by.is_(None), *also)
                .values(
                    sentiment=label.sentiment,
                    sentiment_score=label.sentiment_score,
                    sentiment_confidence=label.sentiment_confidence,
                    language=label.language,
                    readable=label.readable,
                    topic_id=topic_id,
                    topic_confidence=label.topic_confidence,
                    department_id=department_id,
                    model_version=label.model_version,
                    classified_at=now,
                )
            )

    def run_pending(self, progress: Callable[[int], None] | None = None) -> int:
        """Classify until nothing is left or `stop` is called; `progress` hears each batch."""
        total = 0
        while not self._stopping.is_set() and (done := self.run_batch()):
            total += done
            if progress:
                progress(done)
        return total

    async def run_forever(self, interval: float) -> None:
        """Classify in a thread whenever woken by ingest or every `interval` seconds, until
        `stop`. While the database is away it backs off, logging once when that starts and
        once when it ends. Topics are reloaded each round, so other processes' changes apply.
        """
        self._loop = asyncio.get_running_loop()
        wait, away = interval, False
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(self.refresh_topics)
                await asyncio.to_thread(self.run_pending)
                if away:
                    log.warning("database is back: classifying again")
                wait, away = interval, False
            except SQLAlchemyError as exc:
                if not away:
                    log.error("database unavailable, classification paused: %s", db_error(exc))
                wait, away = min(max(wait, interval) * 2, MAX_BACKOFF), True
            except Exception:  # a bug, not an item: items that fail are set aside in the batch
                log.exception("classification round failed; retrying")
                wait = min(max(wait, interval) * 2, MAX_BACKOFF)
            self.wake.clear()
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=wait)


@dataclass(frozen=True, slots=True)
class SetAside:
    """Items no worker will classify again until someone looks: how many, and the latest."""

    count: int
    latest_id: int | None
    latest_error: str | None


def set_aside(engine: Engine) -> SetAside:
    """The items whose classification failed `MAX_ATTEMPTS` times (for `upside status`)."""
    aside = (
        FeedbackItem.classified_at.is_(None),
        FeedbackItem.deleted_at.is_(None),
        FeedbackItem.classify_attempts >= MAX_ATTEMPTS,
    )
    with session_scope(engine) as session:
        count = session.exec(select(func.count()).where(*aside)).one()
        latest = session.exec(
            select(FeedbackItem.id, FeedbackItem.classify_error)
            .where(*aside)
            .order_by(FeedbackItem.id.desc())  # type: ignore[union-attr]
            .limit(1)
        ).first()
    return SetAside(count, *(latest or (None, None)))


def _error(exc: Exception) -> str:
    """An exception as the one line stored with the item."""
    return f"{type(exc).__name__}: {exc}"[:500]


def db_error(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's statement and background link."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {text[0] if text else ''}"


def _unclassified() -> tuple[ColumnElement[bool], ...]:
    return (
        FeedbackItem.classified_at.is_(None),
        FeedbackItem.deleted_at.is_(None),
        FeedbackItem.classify_attempts < MAX_ATTEMPTS,
    )


def _machine_labelled() -> tuple[ColumnElement[bool], ...]:
    return (FeedbackItem.labelled_by.is_(None), FeedbackItem.deleted_at.is_(None))
