"""Ingest: validate, redact, de-duplicate and store feedback before anything else runs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.db import insert_new, session_scope
from bot.intake.redact import redact
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


def validate(item: InboundFeedback, max_length: int) -> str | None:
    """Why `item` cannot be stored, or None when it can."""
    if not item.source.strip():
        return "missing source"
    if not item.external_id.strip():
        return "missing external id"
    if not item.text.strip():
        return "empty text"
    if len(item.text) > max_length:
        return f"text is {len(item.text)} characters; the limit is {max_length}"
    if len(item.source) > 100 or len(item.external_id) > 200:
        return "source or external id too long (100 and 200 characters at most)"
    return None


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
            "link": item.link[:1000],
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
