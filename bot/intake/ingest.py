"""Ingest: validate, redact, de-duplicate and store feedback before anything else runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.db import insert_new, session_scope
from bot.intake.redact import redact, web_link
from bot.models import FeedbackItem
from bot.ports import InboundFeedback

Outcome = Literal["accepted", "duplicate", "rejected"]


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What happened to one inbound item: its stored id, or why it was refused."""

    outcome: Outcome
    id: int | None = None
    reason: str = ""


@dataclass(slots=True)
class IngestReport:
    """Per-item results, in input order."""

    results: list[ItemResult] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        """How many items had `outcome`."""
        return sum(result.outcome == outcome for result in self.results)


# Storable dates: PostgreSQL and Python both hold these, with room for arithmetic on them.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored: PostgreSQL refuses NUL, UTF-8 cannot carry lone surrogates."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def date_problem(value: datetime) -> str | None:
    """Why a time cannot be stored: naive, or outside what every engine and Python can hold."""
    if value.tzinfo is None:
        return "has no time zone"
    try:
        if EARLIEST <= value.astimezone(UTC) < LATEST:
            return None
    except OverflowError:
        pass
    return f"must lie between {EARLIEST.year} and {LATEST.year} in UTC"


def link_problem(value: str) -> str | None:
    """Why a link back to the source is refused: anything but an absolute http(s) URL."""
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return "is not a URL"
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return "must be an http:// or https:// URL"
    return None


def problems(item: InboundFeedback, max_length: int) -> list[str]:
    """Every reason `item` cannot be stored, each naming its field where it has one."""
    found = []
    fields = {"source": item.source, "external_id": item.external_id, "text": item.text}
    fields |= {"channel": item.channel, "author": item.author, "link": item.link}
    for name, value in fields.items():
        if reason := text_problem(value):
            found.append(f"{name}: {reason}")
    if reason := date_problem(item.created_at):
        found.append(f"created_at: {reason}")
    if reason := link_problem(item.link):
        found.append(f"link: {reason}")
    if not item.source.strip():
        found.append("missing source")
    if not item.external_id.strip():
        found.append("missing external id")
    if not item.text.strip():
        found.append("empty text")
    if len(item.text) > max_length:
        found.append(f"text is {len(item.text)} characters; the limit is {max_length}")
    if len(item.source) > 100 or len(item.external_id) > 200:
        found.append("source or external id too long (100 and 200 characters at most)")
    return found


def validate(item: InboundFeedback, max_length: int) -> str | None:
    """Why `item` cannot be stored (all reasons, joined), or None when it can."""
    return "; ".join(problems(item, max_length)) or None


class Ingestor:
    """Stores inbound feedback; returns before classification, which the worker does later."""

    def __init__(self, engine: Engine, max_length: int, regions: tuple[str, ...]) -> None:
        self.engine = engine
        self.max_length = max_length
        self.regions = regions

    def ingest(self, items: Iterable[InboundFeedback]) -> IngestReport:
        """Store every valid item once; one bad item never stops the others."""
        report = IngestReport()
        with session_scope(self.engine) as session:
            for item in items:
                reason = validate(item, self.max_length)
                if reason:
                    report.results.append(ItemResult("rejected", reason=reason))
                    continue
                report.results.append(self._store(session, item))
        return report

    def _store(self, session: Session, item: InboundFeedback) -> ItemResult:
        row = {
            "source": item.source.strip(),
            "external_id": item.external_id.strip(),
            "channel": item.channel[:200],
            "author": item.author[:200],
            "text": item.text,
            "display_text": redact(item.text.strip(), self.regions),
            "link": web_link(item.link),  # what employees may follow
            "created_at": item.created_at,
        }
        new_id = insert_new(session, FeedbackItem, ["source", "external_id"], **row)
        if new_id is not None:
            return ItemResult("accepted", id=new_id)
        existing = session.execute(
            select(FeedbackItem.id).where(
                FeedbackItem.source == row["source"],
                FeedbackItem.external_id == row["external_id"],
            )
        ).scalar_one()
        return ItemResult("duplicate", id=existing)
