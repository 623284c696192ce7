"""The running core: settings, database, ingest, classifier and worker, built once per process."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property

from sqlmodel import select

from adapters.base import InboundFeedback
from bot import db
from bot.config import Settings
from bot.digest import Digest, build_digest
from bot.ingest import Ingestor, IngestReport
from bot.models import Department, FeedbackItem, Topic
from bot.topics import correct_topic
from bot.worker import ClassifyWorker
from classifiers import Classifier


class UnknownDepartment(LookupError):
    """No department has that name."""


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
        if "worker" in self.__dict__ and report.count("accepted"):
            self.worker.notify()
        return report

    def correct_topic(self, feedback_id: int, topic_name: str, who: str) -> None:
        """A person says item `feedback_id` belongs to `topic_name`: store it, learn it now."""
        with self.session() as session:
            item = session.get(FeedbackItem, feedback_id)
            topic = session.exec(select(Topic).where(Topic.name == topic_name)).first()
            if item is None or topic is None:
                missing = f"item {feedback_id}" if item is None else f"topic {topic_name!r}"
                raise LookupError(f"no {missing}")
            correct_topic(session, item, topic, who)
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
