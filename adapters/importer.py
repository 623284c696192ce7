"""CSV and JSONL import: each row becomes an `InboundFeedback` or a numbered error."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from adapters.records import FeedbackRecord, describe
from bot.ports import InboundFeedback


@dataclass(frozen=True, slots=True)
class Row:
    """A line of the file: the item it holds, or why it holds none."""

    line: int
    item: InboundFeedback | None = None
    error: str = ""


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (unknown extension, no `text` column)."""


def read_rows(path: Path, source: str | None = None) -> Iterator[Row]:
    """Yield every row of a .csv or .jsonl file; a bad row is reported and reading goes on.

    Rows without an id get one derived from their content, so a re-import stores nothing twice.
    `source` fills rows that name none (default: "import").
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path)
    elif suffix in {".jsonl", ".ndjson"}:
        records = _jsonl_records(path)
    else:
        raise ImportFormatError(f"{path.name}: expected a .csv or .jsonl file")
    for line, record in records:
        if isinstance(record, str):
            yield Row(line, error=record)
            continue
        fields = {k: v for k, v in record.items() if v != "" or k == "text"}
        record = {"source": source or "import", **fields}
        try:
            yield Row(line, item=FeedbackRecord.model_validate(record).to_inbound(derive_id=True))
        except ValidationError as exc:
            yield Row(line, error="; ".join(describe(exc)))


def _csv_records(path: Path) -> Iterator[tuple[int, dict | str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if "text" not in (reader.fieldnames or []):
            raise ImportFormatError(f"{path.name}: the header has no 'text' column")
        for row in reader:
            if None in row:
                yield reader.line_num, "more fields than the header names"
            else:
                yield reader.line_num, {k: v for k, v in row.items() if k}


def _jsonl_records(path: Path) -> Iterator[tuple[int, dict | str]]:
    with path.open(encoding="utf-8") as handle:
        for line, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield line, f"not valid JSON: {exc.msg} (column {exc.colno})"
                continue
            yield line, record if isinstance(record, dict) else "expected a JSON object"
