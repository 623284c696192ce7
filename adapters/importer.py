"""CSV, TSV and JSONL import: each row becomes an `InboundFeedback` or a numbered error.

Real exports differ from one help desk to the next, so the reader is forgiving about
the file and strict about each row: the encoding is detected, the separator sniffed,
columns found by their usual names in any case, and a row that cannot be read is
reported with its line number while every other row is kept.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes
from pydantic import ValidationError

from adapters.records import FeedbackRecord, describe
from bot.intake.ingest import text_problem
from bot.ports import InboundFeedback

# The record field each column fills, and the column names exports use for it, best first.
COMMON_NAMES: dict[str, tuple[str, ...]] = {
    "text": ("text", "comment", "body", "message", "feedback", "review", "content"),
    "external_id": ("id", "external_id", "ticket_id", "ticket", "review_id"),
    "author": ("author", "user", "customer", "reviewer", "name"),
    "created_at": ("created_at", "date", "created", "timestamp", "time"),
    "link": ("link", "url", "permalink"),
    "source": ("source",),
    "channel": ("channel",),
}
SEPARATORS = ",;\t"
SNIFF_LINES = 50
UNDECODABLE = "cannot be decoded as text; the line is skipped"

# Checked longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

Record = dict[str, object]


@dataclass(frozen=True, slots=True)
class Row:
    """A line of the file: the item it holds, or why it holds none."""

    line: int
    item: InboundFeedback | None = None
    error: str = ""


class ImportFormatError(ValueError):
    """The file as a whole cannot be read (unknown extension, no text column)."""


def read_rows(
    path: Path, source: str | None = None, columns: Mapping[str, str] | None = None
) -> Iterator[Row]:
    """Yield every row of a .csv, .tsv or .jsonl file; a bad row is reported, reading goes on.

    `columns` names the column for a field where the usual names do not fit, e.g.
    `{"text": "Ticket description"}`. Rows without an id get one derived from their
    content, so a re-import stores nothing twice. `source` fills rows that name none
    (default: "import").
    """
    for line, record in read_records(path, COMMON_NAMES, columns or {}):
        if isinstance(record, str):
            yield Row(line, error=record)
            continue
        fields = {k: v for k, v in record.items() if v != "" or k == "text"}
        record = {"source": source or "import", **fields}
        try:
            yield Row(line, item=FeedbackRecord.model_validate(record).to_inbound(derive_id=True))
        except ValidationError as exc:
            yield Row(line, error="; ".join(describe(exc)))


def read_records(
    path: Path,
    names: Mapping[str, tuple[str, ...]],
    chosen: Mapping[str, str],
    required: tuple[str, ...] = ("text",),
) -> Iterator[tuple[int, Record | str]]:
    """(line, record) for each row, its keys the fields of `names`; a str says what is wrong.

    A field's column is `chosen[field]` if given, else the first of `names[field]` the
    file has; both are matched without regard to case or surrounding spaces.
    """
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".tsv", ".jsonl", ".ndjson"}:
        raise ImportFormatError(f"{path.name}: expected a .csv, .tsv or .jsonl file")
    lines = decoded_lines(path)
    if suffix in {".jsonl", ".ndjson"}:
        yield from _jsonl_records(lines, names, chosen, required)
    else:
        yield from _csv_records(path, lines, names, chosen, required)


def decoded_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per line, in the file's detected encoding; None: not decodable.

    Valid multi-byte UTF-8 is all but impossible by chance, so a file with any is read
    as UTF-8 and its odd undecodable line reported; otherwise charset-normalizer decides.
    """
    data = path.read_bytes()
    for bom, encoding in WIDE_BOMS:
        if data.startswith(bom):
            yield from _whole(path, data, encoding)
            return
    data = data.removeprefix(codecs.BOM_UTF8)
    raw_lines = data.splitlines(keepends=True)
    wide = b"\x00" in data  # UTF-16 or UTF-32 without a byte order mark
    encoding = "utf-8" if not wide and _looks_utf8(raw_lines) else _detected(path, data)
    if encoding.replace("_", "-").startswith(("utf-16", "utf-32")):
        yield from _whole(path, data, encoding)
        return
    for number, raw in enumerate(raw_lines, start=1):
        try:
            yield number, raw.decode(encoding)
        except UnicodeDecodeError:
            yield number, None


def _looks_utf8(raw_lines: list[bytes]) -> bool:
    """True unless some line fails as UTF-8 and none proves it (non-ASCII that decodes)."""
    failed = proved = False
    for raw in raw_lines:
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            proved = True
        except UnicodeDecodeError:
            failed = True
    return proved or not failed


def _detected(path: Path, data: bytes) -> str:
    """charset-normalizer's guess; Windows-1252, what spreadsheets save in the West, if
    it is among the plausible ones (short Western texts fit several Latin code pages)."""
    matches = from_bytes(data)
    if not matches:
        raise ImportFormatError(f"{path.name}: cannot tell which text encoding the file uses")
    plausible = [match.encoding for match in matches]
    return "cp1252" if "cp1252" in plausible else plausible[0]


def _whole(path: Path, data: bytes, encoding: str) -> Iterator[tuple[int, str | None]]:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path.name}: not valid {encoding} text") from None
    # newline="" splits at \n, \r and \r\n only, as csv expects; str.splitlines splits at more
    yield from enumerate(io.StringIO(text.removeprefix("\ufeff"), newline=""), start=1)


def _csv_records(
    path: Path,
    lines: Iterator[tuple[int, str | None]],
    names: Mapping[str, tuple[str, ...]],
    chosen: Mapping[str, str],
    required: tuple[str, ...],
) -> Iterator[tuple[int, Record | str]]:
    numbers: list[int] = []  # the file's line number of each line the csv reader is given
    undecodable: list[int] = []

    def readable() -> Iterator[str]:
        for number, text in lines:
            if text is None:
                undecodable.append(number)
            else:
                numbers.append(number)
                yield text

    source = readable()
    head = [text for _, text in zip(range(SNIFF_LINES), source, strict=False)]
    reader = csv.reader(_chain(head, source), _dialect(path, "".join(head)))
    header = next(reader, None)
    if header is None:
        raise ImportFormatError(f"{path.name}: the file is empty")
    fields = _columns(path.name, header, names, chosen, required)
    for values in reader:
        line = numbers[reader.line_num - 1]
        while undecodable and undecodable[0] < line:
            yield undecodable.pop(0), UNDECODABLE
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield line, "more fields than the header names"
            continue
        record = {field: values[i] if i < len(values) else "" for field, i in fields}
        yield line, _unstorable(record) or record
    for number in undecodable:
        yield number, UNDECODABLE


def _chain(head: list[str], rest: Iterator[str]) -> Iterator[str]:
    yield from head
    yield from rest


def _dialect(path: Path, sample: str) -> type[csv.Dialect] | csv.Dialect:
    if path.suffix.lower() == ".tsv":
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=SEPARATORS)
    except csv.Error:  # one column, or too little to tell: the common case
        return csv.excel


def _columns(
    file: str,
    header: list[str],
    names: Mapping[str, tuple[str, ...]],
    chosen: Mapping[str, str],
    required: tuple[str, ...],
) -> list[tuple[str, int]]:
    """(field, column index) for each field the header has; refuses a missing required one."""
    index = {name.strip().lower(): i for i, name in reversed(list(enumerate(header)))}
    found = []
    for field, usual in names.items():
        if field in chosen:
            column = index.get(chosen[field].strip().lower())
            if column is None:
                raise ImportFormatError(
                    f"{file}: no column {chosen[field]!r}; the header has {', '.join(header)}"
                )
        else:
            column = next((index[n] for n in usual if n in index), None)
        if column is not None:
            found.append((field, column))
        elif field in required:
            raise ImportFormatError(
                f"{file}: no {field} column among {', '.join(header)}; "
                f"expected one named {' or '.join(usual)} (in any case)"
            )
    return found


def _jsonl_records(
    lines: Iterator[tuple[int, str | None]],
    names: Mapping[str, tuple[str, ...]],
    chosen: Mapping[str, str],
    required: tuple[str, ...],
) -> Iterator[tuple[int, Record | str]]:
    for line, raw in lines:
        if raw is None:
            yield line, UNDECODABLE
            continue
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, f"not valid JSON: {exc.msg} (column {exc.colno})"
            continue
        except RecursionError:
            yield line, "not valid JSON: nested too deeply"
            continue
        if not isinstance(record, dict):
            yield line, "expected a JSON object"
            continue
        renamed = _renamed(record, names, chosen)
        missing = [field for field in required if field not in renamed]
        if missing:
            yield line, "; ".join(f"{field}: Field required" for field in missing)
            continue
        yield line, _unstorable(renamed) or renamed


def _renamed(
    record: dict, names: Mapping[str, tuple[str, ...]], chosen: Mapping[str, str]
) -> Record:
    """The record's values under their field names, keys matched as CSV headers are."""
    keys = {str(k).strip().lower(): k for k in reversed(list(record))}
    renamed: Record = {}
    for field, usual in names.items():
        wanted = [n.strip().lower() for n in ((chosen[field],) if field in chosen else usual)]
        key = next((keys[n] for n in wanted if n in keys), None)
        if key is not None:
            renamed[field] = record[key]
    return renamed


def _unstorable(record: Record) -> str:
    """Why a value of `record` cannot be stored as text (a lone surrogate, a NUL), or ""."""
    for field, value in record.items():
        problem = text_problem(value) if isinstance(value, str) else None
        if problem:
            return f"{field}: {problem}"
    return ""
