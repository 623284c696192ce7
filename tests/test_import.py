"""CSV and JSONL import through `upside import` and `bot.cli.import_feedback`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot import db
from bot.cli import app
from bot.cli.feed import import_feedback
from bot.core import Upside
from bot.models import FeedbackItem

HEADER = ["id", "source", "text", "author", "created_at"]
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """Environment for the CLI on a fresh, initialised SQLite file; no `.env` is read."""
    monkeypatch.chdir(tmp_path)
    values: dict[str, str | None] = {
        "UPSIDE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "COLUMNS": "200",  # rich would wrap long error lines at 80
        "FORCE_COLOR": None,
    }
    invoke(values, "init")
    return values


@pytest.fixture
def engine(env: dict[str, str | None]) -> Iterator[Engine]:
    """The CLI's database, for checking what it stored."""
    engine = db.make_engine(str(env["UPSIDE_DATABASE_URL"]))
    yield engine
    engine.dispose()


def invoke(env: dict[str, str | None], *args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


def items(engine: Engine) -> list[FeedbackItem]:
    with db.session_scope(engine) as session:
        return list(session.exec(select(FeedbackItem).order_by(FeedbackItem.id)))


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, lines: list[object]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def thousand_rows(tmp_path: Path) -> Path:
    """1,000 distinct rows mixing topics, sentiments, sources, authors and times."""
    subjects = ["parcel", "refund", "app", "kettle", "promo code", "store queue", "invoice"]
    verdicts = [
        "arrived {n} days late, again",
        "was brilliant, thank you ({n})",
        "has not worked since order {n}",
        "- is there any update on ticket {n}?",
        "made my week, {n} stars",
    ]
    sources = ["zendesk", "appstore", "email", "slack"]
    start = datetime(2026, 10, 1, tzinfo=UTC)
    rows = [
        [
            f"R-{n:04d}",
            sources[n % len(sources)],
            f"The {subjects[n % len(subjects)]} {verdicts[n % len(verdicts)].format(n=n)}",
            f"Customer {n % 97}",
            (start + timedelta(minutes=37 * n)).isoformat(),
        ]
        for n in range(1000)
    ]
    return write_csv(tmp_path / "history.csv", rows)


def test_a_thousand_rows_imported_twice_are_stored_once(env, engine, tmp_path) -> None:
    path = thousand_rows(tmp_path)
    first = invoke(env, "import", str(path), "--no-classify")
    assert "history.csv: 1000 accepted, 0 duplicates, 0 rejected" in first.output
    second = invoke(env, "import", str(path), "--no-classify")
    assert "history.csv: 0 accepted, 1000 duplicates, 0 rejected" in second.output
    stored = items(engine)
    assert len(stored) == 1000
    assert len({(item.source, item.external_id) for item in stored}) == 1000
    assert stored[0].external_id == "R-0000"
    assert stored[0].created_at == datetime(2026, 10, 1, tzinfo=UTC)


def test_import_feedback_stores_a_thousand_rows_once(core: Upside, tmp_path) -> None:
    path = thousand_rows(tmp_path)
    first = import_feedback(core, path)
    assert (first["accepted"], first["duplicate"], first["rejected"]) == (1000, 0, 0)
    second = import_feedback(core, path)
    assert (second["accepted"], second["duplicate"], second["rejected"]) == (0, 1000, 0)
    assert second["errors"] == []
    with core.session() as session:
        stored = session.exec(select(FeedbackItem.external_id)).all()
    assert sorted(stored) == [f"R-{n:04d}" for n in range(1000)]


GOOD = "2026-11-01T10:00:00Z"


def test_bad_csv_rows_are_reported_and_good_ones_stored(env, engine, tmp_path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "id,source,text,author,created_at\n"
        f"g1,web,Parcel arrived a day early,Ann,{GOOD}\n"  # line 2
        f"b1,web,,Bob,{GOOD}\n"  # 3: empty text
        f'b2,web,"   ",Cy,{GOOD}\n'  # 4: whitespace only
        f'g2,web,"Refund took ages, but it came",Di,{GOOD}\n'  # 5
        "b3,web,Wrong date,Ed,last tuesday\n"  # 6: bad created_at
        f"b4,web,{'x' * 5001},Flo,{GOOD}\n"  # 7: over the limit
        f"b5,web,Extra field,Gus,{GOOD},surplus\n"  # 8: more fields than the header
        "g3,web,Store staff were lovely,Hal,\n",  # 9: no time is fine
        encoding="utf-8",
    )
    result = invoke(env, "import", str(path), "--no-classify")
    assert "mixed.csv: 3 accepted, 0 duplicates, 5 rejected" in result.output
    for expected in (
        "line 3: empty text",
        "line 4: empty text",
        "line 6: created_at: Input should be a valid datetime",
        "line 7: text is 5001 characters; the limit is 5000",
        "line 8: more fields than the header names",
    ):
        assert expected in result.output
    assert "line 2" not in result.output
    assert "line 5" not in result.output
    assert "line 9" not in result.output
    stored = items(engine)
    assert [item.external_id for item in stored] == ["g1", "g2", "g3"]
    assert stored[1].text == "Refund took ages, but it came"


def test_bad_jsonl_lines_are_reported_and_good_ones_stored(env, engine, tmp_path) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"id": "g1", "source": "email", "text": "Courier was very polite"},  # line 1
            {"id": "b1", "source": "email", "text": ""},  # 2: empty text
            {"id": "b2", "source": "email", "text": " \t "},  # 3: whitespace
            '{"id": "b3", "text": "unterminated',  # 4: malformed JSON
            ["not", "an", "object"],  # 5: array
            {"id": "b5", "text": "When?", "created_at": "yesterday"},  # 6: bad time
            {"id": "b6", "text": "y" * 5001},  # 7: over the limit
            "",  # 8: blank lines are skipped
            {"id": "g2", "text": "Checkout keeps failing", "created_at": GOOD},  # 9
            {"id": "b7", "source": "email"},  # 10: no text
        ],
    )
    result = invoke(env, "import", str(path), "--no-classify", "--source", "import-test")
    assert "mixed.jsonl: 2 accepted, 0 duplicates, 7 rejected" in result.output
    for expected in (
        "line 2: empty text",
        "line 3: empty text",
        "line 4: not valid JSON",
        "line 5: expected a JSON object",
        "line 6: created_at: Input should be a valid datetime",
        "line 7: text is 5001 characters; the limit is 5000",
        "line 10: text: Field required",
    ):
        assert expected in result.output
    for good in ("line 1:", "line 8", "line 9"):
        assert good not in result.output
    stored = items(engine)
    assert [(item.external_id, item.source) for item in stored] == [
        ("g1", "email"),
        ("g2", "import-test"),
    ]


def test_a_csv_without_a_text_column_is_refused(env, engine, tmp_path) -> None:
    path = write_csv(tmp_path / "notext.csv", [["1", "web", "hello"]], ["id", "source", "words"])
    result = invoke(env, "import", str(path), code=2)
    assert "notext.csv: no text column among id, source, words" in result.output
    assert items(engine) == []


def test_an_unknown_file_type_is_refused(env, engine, tmp_path) -> None:
    path = tmp_path / "feedback.txt"
    path.write_text("My parcel is late\n", encoding="utf-8")
    result = invoke(env, "import", str(path), code=2)
    assert "feedback.txt: expected a .csv, .tsv or .jsonl file" in result.output
    assert items(engine) == []


def test_rows_without_an_id_are_stored_once_across_imports(env, engine, tmp_path) -> None:
    csv_path = write_csv(
        tmp_path / "noid.csv",
        [
            ["web", "Parcel was late", "Ann", GOOD],
            ["web", "Parcel was late", "Bob", GOOD],  # same words, another customer
            ["web", "Love the new app", "", ""],
        ],
        ["source", "text", "author", "created_at"],
    )
    jsonl_path = write_jsonl(tmp_path / "noid.jsonl", [{"text": "Refund arrived quickly"}])
    for path in (csv_path, jsonl_path):
        invoke(env, "import", str(path), "--no-classify")
    again = invoke(env, "import", str(csv_path), "--no-classify")
    assert "noid.csv: 0 accepted, 3 duplicates, 0 rejected" in again.output
    again = invoke(env, "import", str(jsonl_path), "--no-classify")
    assert "noid.jsonl: 0 accepted, 1 duplicates, 0 rejected" in again.output
    stored = items(engine)
    assert len(stored) == 4
    assert all(item.external_id.startswith("sha1:") for item in stored)
    assert len({item.external_id for item in stored}) == 4


def test_no_classify_leaves_items_for_the_worker(env, engine, tmp_path) -> None:
    path = write_jsonl(
        tmp_path / "later.jsonl",
        [{"id": "n1", "text": "My parcel never arrived and nobody answers the phone"}],
    )
    result = invoke(env, "import", str(path), "--no-classify")
    assert "classified" not in result.output
    [item] = items(engine)
    assert item.classified_at is None
    assert item.sentiment is None


def test_import_classifies_and_routes_by_default(env, engine, tmp_path) -> None:
    path = write_jsonl(
        tmp_path / "now.jsonl",
        [
            {"id": "c1", "text": "My parcel never arrived and nobody answers the phone"},
            {"id": "c2", "text": "Thank you, the courier was brilliant and the parcel came early!"},
        ],
    )
    result = invoke(env, "import", str(path))
    assert "classified 2 items" in result.output
    late, thanks = items(engine)
    assert late.classified_at is not None and thanks.classified_at is not None
    assert (late.sentiment, thanks.sentiment) == ("negative", "positive")
    assert late.department_id is not None


def test_a_latin1_file_is_read_in_its_encoding(env, engine, tmp_path) -> None:
    path = tmp_path / "latin1.csv"
    rows = [f'r{n},"Le café était froid, la livraison {n} très en retard"\n' for n in range(5)]
    path.write_bytes(("id,text\n" + "".join(rows) + "r5,Très déçu\n").encode("latin-1"))
    result = invoke(env, "import", str(path), "--no-classify")
    assert "latin1.csv: 6 accepted, 0 duplicates, 0 rejected" in result.output
    assert items(engine)[5].text == "Très déçu"


def test_an_undecodable_line_is_reported_and_the_rest_kept(env, engine, tmp_path) -> None:
    path = tmp_path / "mostly.csv"
    path.write_bytes(
        "id,text\nu1,Crème brûlée was perfect\n".encode()
        + b"u2,broken \xff\xfe bytes\n"  # line 3: not UTF-8
        + b"u3,Service was slow\n"
    )
    result = invoke(env, "import", str(path), "--no-classify")
    assert "mostly.csv: 2 accepted, 0 duplicates, 1 rejected" in result.output
    assert "line 3: cannot be decoded as text" in result.output
    assert [item.external_id for item in items(engine)] == ["u1", "u3"]


def test_utf16_with_a_byte_order_mark_is_read(env, engine, tmp_path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("id,text\nw1,Zürich store was closed\n".encode("utf-16"))
    invoke(env, "import", str(path), "--no-classify")
    assert [item.text for item in items(engine)] == ["Zürich store was closed"]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("comment.csv", "Ticket ID,Comment,Requester\nT1,The parcel was late,Ann\n"),
        ("body.csv", "id,body\nT1,The parcel was late\n"),
        ("capital.csv", "ID,Text,Author\nT1,The parcel was late,Ann\n"),
        ("semicolon.csv", "id;text;author\nT1;The parcel was late, again;Ann\n"),
        ("tabs.tsv", "id\ttext\tauthor\nT1\tThe parcel was late, again\tAnn\n"),
        ("tabs.csv", "id\ttext\tauthor\nT1\tThe parcel was late; again\tAnn\n"),
    ],
)
def test_help_desk_exports_are_understood(env, engine, tmp_path, name, content) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = invoke(env, "import", str(path), "--no-classify")
    assert f"{name}: 1 accepted" in result.output
    [item] = items(engine)
    assert item.text.startswith("The parcel was late")


def test_columns_can_be_named(env, engine, tmp_path) -> None:
    path = tmp_path / "zendesk.csv"
    path.write_text(
        "Ticket,Description,Requester,Opened,Permalink\n"
        "Z-9,Nobody called me back,Ann,2026-11-01T10:00:00Z,https://help.example.com/9\n",
        encoding="utf-8",
    )
    refused = invoke(env, "import", str(path), code=2)
    assert "zendesk.csv: no text column among Ticket, Description" in refused.output
    invoke(
        env,
        "import",
        str(path),
        "--no-classify",
        "--text-column",
        "description",
        "--id-column",
        "TICKET",
        "--author-column",
        "Requester",
        "--date-column",
        "Opened",
        "--link-column",
        "Permalink",
    )
    [item] = items(engine)
    assert (item.external_id, item.text, item.author) == ("Z-9", "Nobody called me back", "Ann")
    assert item.link == "https://help.example.com/9"
    assert item.created_at == datetime(2026, 11, 1, 10, tzinfo=UTC)
    missing = invoke(env, "import", str(path), "--text-column", "Words", code=2)
    assert "zendesk.csv: no column 'Words'" in missing.output


def test_jsonl_with_a_lone_surrogate_or_bad_json_keeps_every_good_line(
    env, engine, tmp_path
) -> None:
    lines = [json.dumps({"id": f"j{n}", "text": f"Order {n} arrived"}) for n in range(1000)]
    lines[200] = '{"id": "s1", "text": "bad \\ud800 surrogate"}'
    lines[500] = '{"id": "s2", "text": "unterminated'
    lines[700] = '{"id": "s3", "Comment": "nul \\u0000 inside"}'
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke(env, "import", str(path), "--no-classify")
    assert "big.jsonl: 997 accepted, 0 duplicates, 3 rejected" in result.output
    assert "line 201: text: contains a lone surrogate" in result.output
    assert "line 501: not valid JSON" in result.output
    assert "line 701: text: contains a NUL character" in result.output
    assert len(items(engine)) == 997


def test_jsonl_keys_are_found_like_csv_columns(env, engine, tmp_path) -> None:
    path = write_jsonl(tmp_path / "reviews.jsonl", [{"ID": 7, "Review": "Lovely shop"}])
    invoke(env, "import", str(path), "--no-classify")
    [item] = items(engine)
    assert (item.external_id, item.text) == ("7", "Lovely shop")
