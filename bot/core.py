"""The running core: settings, database, ingest, classifier and worker, built once per process."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot import db
from bot.config import Settings
from bot.db import insert_new
from bot.digests.build import build_digest
from bot.digests.digest import Digest
from bot.intake.ingest import Ingestor, IngestReport, validate
from bot.intake.redact import redact
from bot.intake.topics import correct_topic
from bot.intake.worker import ClassifyWorker
from bot.models import Department, FeedbackItem, ProcessedEvent, Topic, WatchedChannel, utcnow
from bot.ports import InboundFeedback

if TYPE_CHECKING:  # the model stack loads with the model, not with the core
    from classifiers import Classifier


class UnknownDepartment(LookupError):
    """No department has that name."""


class RoleRequired(PermissionError):
    """The person lacks the role a step needs (admin, executive)."""

    def __init__(self, role: str) -> None:
        super().__init__(f"this needs the {role} role; ask an Upside admin")
        self.role = role


class Upside:
    """What every entry point (CLI, web server, chat adapters) talks to.

    >>> core = Upside(load_settings())
    >>> core.migrate()
    >>> core.ingest([InboundFeedback("webhook", "42", "My parcel is late")]).count("accepted")
    1
    """

    def __init__(self, settings: Settings, classifier: Classifier | None = None) -> None:
        self.settings = settings
        self.engine = db.make_engine(settings.database_url)
        self.ingestor = Ingestor(self.engine, settings.max_text_length, settings.regions)
        self._classifier = classifier

    def migrate(self) -> None:
        """Apply pending database migrations."""
        db.upgrade(self.engine)

    def session(self):
        """A committing session (see `bot.db.session_scope`)."""
        return db.session_scope(self.engine)

    @property
    def classifier(self) -> Classifier:
        """The model, loaded on first use (a few seconds) and then shared."""
        if self._classifier is None:
            from classifiers import Classifier

            settings = self.settings
            self._classifier = Classifier.load(
                settings.model_dir, settings.topic_threshold, settings.quantize, settings.cache_dir
            )
        return self._classifier

    @property
    def model_ready(self) -> bool:
        """Whether the model has been loaded."""
        return self._classifier is not None

    @cached_property
    def worker(self) -> ClassifyWorker:
        """The classification worker, with the current topics loaded."""
        worker = ClassifyWorker(self.engine, self.classifier, self.settings.batch_size)
        worker.refresh_topics()
        return worker

    def ingest(self, items: Iterable[InboundFeedback]) -> IngestReport:
        """Store feedback and wake the worker; returns before classification."""
        report = self.ingestor.ingest(items)
        if report.count("accepted"):
            self.worker_notify()
        return report

    def worker_notify(self) -> None:
        """Wake the background worker, if this process runs one."""
        if "worker" in self.__dict__:
            self.worker.notify()

    def seen(self, event_id: str) -> bool:
        """Whether a platform event was handled already (so a retried delivery is skipped)."""
        with self.session() as session:
            query = select(ProcessedEvent.id).where(ProcessedEvent.event_id == event_id)
            return session.exec(query).first() is not None

    def remember(self, event_id: str) -> None:
        """Record a platform event as handled; called once its effects are stored."""
        with self.session() as session:
            insert_new(session, ProcessedEvent, ["event_id"], event_id=event_id)

    def edit(self, source: str, external_id: str, text: str) -> bool:
        """A source message was edited: store the new words and classify them again."""
        if validate(InboundFeedback(source, external_id, text), self.settings.max_text_length):
            return False
        with self.session() as session:
            item = self._item(session, source, external_id)
            if item is None or item.text == text:  # unfurls and the like change nothing said
                return False
            item.text, item.display_text = text, redact(text.strip(), self.settings.regions)
            if item.labelled_by is None:
                item.classified_at = None  # the worker labels the new words
                item.classify_attempts, item.classify_error = 0, None  # new words, a new chance
            session.add(item)
        self.worker_notify()
        return True

    def delete(self, source: str, external_id: str) -> bool:
        """A source message was deleted: keep the record, hide it from digests."""
        with self.session() as session:
            item = self._item(session, source, external_id)
            if item is None or item.deleted_at is not None:
                return False
            item.deleted_at = utcnow()
            session.add(item)
            return True

    @staticmethod
    def _item(session: Session, source: str, external_id: str) -> FeedbackItem | None:
        return session.exec(
            select(FeedbackItem).where(
                FeedbackItem.source == source, FeedbackItem.external_id == external_id
            )
        ).first()

    def watch(self, platform: str, channel_id: str, who: str) -> bool:
        """Mark a channel as a feedback channel; False when it already was."""
        with self.session() as session:
            values = {"platform": platform, "channel_id": channel_id, "added_by": who}
            return (
                insert_new(session, WatchedChannel, ["platform", "channel_id"], **values)
                is not None
            )

    def unwatch(self, platform: str, channel_id: str) -> bool:
        """Stop treating a channel's messages as feedback; False when it was not watched."""
        with self.session() as session:
            row = session.exec(
                select(WatchedChannel).where(
                    WatchedChannel.platform == platform, WatchedChannel.channel_id == channel_id
                )
            ).first()
            if row is None:
                return False
            session.delete(row)
            return True

    def watched(self, platform: str) -> set[str]:
        """Ids of the platform's feedback channels."""
        with self.session() as session:
            return set(
                session.exec(
                    select(WatchedChannel.channel_id).where(WatchedChannel.platform == platform)
                )
            )

    def correct_topic(self, feedback_id: int, topic_name: str, who: str) -> None:
        """A person says item `feedback_id` belongs to `topic_name`: store it, learn it now."""
        with self.session() as session:
            item = session.get(FeedbackItem, feedback_id)
            topic = session.exec(select(Topic).where(Topic.name == topic_name)).first()
            if item is None or topic is None:
                missing = f"item {feedback_id}" if item is None else f"topic {topic_name!r}"
                raise LookupError(f"no {missing}")
            correct_topic(session, item, topic, who)
        self.refresh_topics()

    def refresh_topics(self) -> None:
        """Apply topic changes to the loaded model at once (no-op before it is loaded)."""
        if self.model_ready:
            self.worker.refresh_topics()

    def department(self, name: str) -> Department:
        """The department called `name` (case-insensitive)."""
        with self.session() as session:
            departments = session.exec(select(Department)).all()
        for department in departments:
            if department.name.casefold() == name.casefold():
                return department
        known = ", ".join(sorted(d.name for d in departments)) or "none yet"
        raise UnknownDepartment(f"no department {name!r}; known: {known}")

    def digest(self, department: Department, start: datetime, end: datetime) -> Digest:
        """The department's digest for [start, end)."""
        with self.session() as session:
            return build_digest(session, department, start, end)
