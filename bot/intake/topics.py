"""Departments and topics: the starter TOML file, the classifier's view, and corrections."""

from __future__ import annotations

import tomllib
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlmodel import Session, select

from bot.models import Department, FeedbackItem, Topic, TopicCorrection, TopicExample, utcnow
from classifiers import TopicSpec

STARTER_FILE = files("bot") / "data" / "starter.toml"


WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def work_week(days: str) -> str:
    """Days as cron reads them: a range across the weekend such as sun-thu is split in two
    (cron ranges run Monday to Sunday only)."""
    parts = []
    for part in days.lower().replace(" ", "").split(","):
        first, dash, last = part.partition("-")
        if dash and first in WEEK and last in WEEK and WEEK.index(first) > WEEK.index(last):
            parts += [f"{first}-sun" if first != "sun" else "sun", f"mon-{last}"]
        else:
            parts.append(part)
    return ",".join(parts)


def _trimmed(value: str) -> str:
    if value != value.strip():
        raise ValueError(f"{value!r} has spaces at the start or end")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_trimmed)]


class DepartmentConfig(BaseModel):
    """A department as written in the TOML file."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    channel: str = ""
    timezone: str = "UTC"
    digest_time: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    work_days: str = "mon-fri"
    holidays: list[date] = Field(default_factory=list)
    quiet: Literal["line", "skip"] = "line"

    @field_validator("work_days")
    @classmethod
    def _known_days(cls, value: str) -> str:
        days = work_week(value)
        try:
            CronTrigger(day_of_week=days)
        except ValueError:
            raise ValueError(f"work days {value!r} are not like mon-fri or sun-thu") from None
        return days

    @field_validator("holidays", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return [d for d in value.split(",") if d.strip()] if isinstance(value, str) else value

    def row(self) -> dict[str, object]:
        """The values of a `Department` row."""
        values = self.model_dump()
        values["holidays"] = ",".join(sorted({d.isoformat() for d in self.holidays}))
        return values

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class TopicConfig(BaseModel):
    """A topic as written in the TOML file."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    department: str
    description: str = Field("", max_length=500)
    examples: list[str] = Field(default_factory=list)


class TopicsFile(BaseModel):
    """The whole file: `[[departments]]` then `[[topics]]`, each topic naming its department."""

    model_config = ConfigDict(extra="forbid")

    departments: list[DepartmentConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_once(self) -> TopicsFile:
        repeats = [
            f"[[{table}]] {i + 1}: name {entry.name!r} is used by [[{table}]] {first + 1} already"
            for table, entries in (("departments", self.departments), ("topics", self.topics))
            for i, entry in enumerate(entries)
            if (first := [e.name.lower() for e in entries].index(entry.name.lower())) != i
        ]
        if repeats:
            raise ValueError("\n".join(repeats))
        return self

    @model_validator(mode="after")
    def _departments_exist(self) -> TopicsFile:
        known = {d.name for d in self.departments}
        missing = sorted({t.department for t in self.topics} - known)
        if missing:
            raise ValueError(f"topics name undefined departments: {', '.join(missing)}")
        return self

    def specs(self) -> list[TopicSpec]:
        """The file's topics as the classifier wants them."""
        return [TopicSpec(t.name, t.description, tuple(t.examples)) for t in self.topics]


class ConfigFileError(ValueError):
    """The TOML file cannot be read or does not describe departments and topics."""


def read_topics_file(path: Path | None = None) -> TopicsFile:
    """Parse and check a topics file; the bundled starter set when `path` is None."""
    raw = Path(path).read_text(encoding="utf-8") if path else STARTER_FILE.read_text("utf-8")
    name = path or "starter.toml"
    try:
        return TopicsFile.model_validate(tomllib.loads(raw))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{name}: {exc}") from None
    except ValidationError as exc:
        raise ConfigFileError("\n".join(f"{name}: {line}" for line in _problems(exc))) from None


def _problems(error: ValidationError) -> list[str]:
    """One line per problem, placed as `[[topics]] 2, chanel: unknown key`."""
    lines = []
    for problem in error.errors():
        loc = problem["loc"]
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key"
        if len(loc) >= 2 and isinstance(loc[1], int):
            place = f"[[{loc[0]}]] {loc[1] + 1}"
            key = ".".join(str(part) for part in loc[2:])
            lines.append(f"{place}, {key}: {message}" if key else f"{place}: {message}")
        elif loc:
            lines.append(f"{'.'.join(map(str, loc))}: {message}")
        else:
            lines.extend(message.splitlines())
    return lines


def apply_topics_file(session: Session, config: TopicsFile) -> tuple[int, int]:
    """Create or update the file's departments and topics; returns (departments, topics)."""
    departments: dict[str, Department] = {}
    for entry in config.departments:
        department = session.exec(select(Department).where(Department.name == entry.name)).first()
        department = department or Department(name=entry.name)
        department.sqlmodel_update(entry.row())
        session.add(department)
        departments[entry.name] = department
    session.flush()
    for entry in config.topics:
        save_topic(session, entry, departments[entry.department])
    return len(config.departments), len(config.topics)


def save_topic(session: Session, entry: TopicConfig, department: Department) -> Topic:
    """Create or update the topic `entry` names, owned by `department`; examples are added."""
    topic = session.exec(select(Topic).where(Topic.name == entry.name)).first()
    topic = topic or Topic(name=entry.name)
    topic.description = entry.description
    topic.department_id = department.id
    session.add(topic)
    session.flush()
    add_examples(session, topic, entry.examples, origin="admin")
    return topic


def add_examples(session: Session, topic: Topic, texts: list[str], origin: str) -> None:
    """Attach example phrases to a topic, skipping ones it already has."""
    have = set(session.exec(select(TopicExample.text).where(TopicExample.topic_id == topic.id)))
    for text in dict.fromkeys(t.strip() for t in texts if t.strip()):
        if text not in have:
            session.add(TopicExample(topic_id=topic.id, text=text, origin=origin))


def remove_topic(session: Session, topic: Topic) -> None:
    """Delete a topic and its examples; its items go back to the worker to be labelled again."""
    for item in session.exec(select(FeedbackItem).where(FeedbackItem.topic_id == topic.id)):
        item.topic_id = item.department_id = item.classified_at = item.labelled_by = None
        session.add(item)
    for example in session.exec(select(TopicExample).where(TopicExample.topic_id == topic.id)):
        session.delete(example)
    session.flush()
    session.delete(topic)


def topic_specs(session: Session) -> list[TopicSpec]:
    """Every topic with its examples, as the classifier wants them."""
    examples: dict[int, list[str]] = {}
    for example in session.exec(select(TopicExample).order_by(TopicExample.id)):
        examples.setdefault(example.topic_id, []).append(example.text)
    return [
        TopicSpec(t.name, t.description, tuple(examples.get(t.id, [])))
        for t in session.exec(select(Topic).order_by(Topic.id))
    ]


def correct_topic(session: Session, item: FeedbackItem, topic: Topic, who: str) -> None:
    """Record a person's correction: the item moves, and its text becomes an example."""
    session.add(
        TopicCorrection(
            feedback_id=item.id, from_topic_id=item.topic_id, to_topic_id=topic.id, corrected_by=who
        )
    )
    item.topic_id, item.department_id = topic.id, topic.department_id
    item.topic_confidence, item.labelled_by, item.classified_at = 1.0, who, utcnow()
    session.add(item)
    add_examples(session, topic, [item.display_text], origin="correction")
