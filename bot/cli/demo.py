"""`upside demo`: the whole pipeline offline, on bundled sample feedback, in a fresh database."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
from contextlib import closing
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import func
from sqlmodel import select

from adapters.console import ConsoleOutbound, render_scoreboard
from bot.cli.feed import classify_pending, import_feedback, print_import_summary
from bot.config import Settings
from bot.core import Upside
from bot.executives import complaints
from bot.executives.programme import assign_month
from bot.executives.roster import enrol
from bot.executives.scoreboard import scoreboard
from bot.intake.topics import apply_topics_file, read_topics_file
from bot.models import Department, FeedbackItem
from bot.ports import Address

SAMPLE_FILE = files("bot") / "data" / "sample_feedback.jsonl"
DIGEST_DAYS = 7
DEMO_APPLICATION_ID = 0x55505344  # "UPSD" in SQLite's header: this file is a demo's


def rebased_sample(directory: Path, now: datetime) -> Path:
    """The sample with its times moved so its newest item arrived an hour ago."""
    lines = SAMPLE_FILE.read_text("utf-8").splitlines()
    stamps = [
        datetime.fromisoformat(json.loads(line)["created_at"])
        for line in lines
        if line.strip() and "created_at" in json.loads(line)
    ]
    shift = now - timedelta(hours=1) - max(stamps)
    out = []
    for line in lines:
        record = json.loads(line)
        if "created_at" in record:
            moved = datetime.fromisoformat(record["created_at"]) + shift
            record["created_at"] = moved.isoformat()
        out.append(json.dumps(record))
    path = directory / "sample_feedback.jsonl"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


class NotADemo(Exception):
    """The database file exists and `upside demo` did not make it."""


def made_by_demo(database: Path) -> bool:
    """Whether `database` is a SQLite file that carries the demo's application id."""
    try:
        with closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)) as db:
            return db.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID
    except sqlite3.DatabaseError:  # not SQLite at all
        return False


def run_demo(settings: Settings, database: Path, console: Console) -> None:
    """Fresh database, starter topics, sample import, classification, digests, summary.

    A file at `database` is replaced only if an earlier demo made it (NotADemo otherwise).
    """
    if database.exists() and not made_by_demo(database):
        raise NotADemo(
            f"{database} exists and was not made by `upside demo`; it is left as it is: "
            "choose another --database"
        )
    database.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    console.rule("[bold]Upside demo")
    core = Upside(settings)
    core.migrate()
    with core.engine.begin() as connection:  # marks the file as the demo's to replace next time
        connection.exec_driver_sql(f"PRAGMA application_id = {DEMO_APPLICATION_ID}")
    with core.session() as session:
        departments, topics = apply_topics_file(session, read_topics_file())
    console.print(
        f"1. database {database} created by migrations; {departments} departments, "
        f"{topics} topics from the starter set"
    )
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        console.print("2. ingesting the bundled sample (validated, redacted, de-duplicated)")
        print_import_summary(import_feedback(core, rebased_sample(Path(tmp), now)))
    console.print("3. classifying sentiment and topic, routing to departments")
    classify_pending(core)
    console.print(f"4. each department's digest for the last {DIGEST_DAYS} days")
    outbound = ConsoleOutbound(console)
    start = now - timedelta(days=DIGEST_DAYS)
    with core.session() as session:
        all_departments = session.exec(select(Department).order_by(Department.name)).all()
    digests = [core.digest(d, start, now) for d in all_departments]
    for department, digest in zip(all_departments, digests, strict=True):
        asyncio.run(outbound.post_digest(department.address, digest))
    console.print(_summary(core, digests))
    _executives(core, outbound, console, now)


def _executives(core: Upside, outbound: ConsoleOutbound, console: Console, now: datetime) -> None:
    """Two executives get this month's worst complaints; one resolves hers; the scoreboard."""
    console.print("5. this month's complaints for two executives, by direct message")
    ceo, cfo = Address("slack", "U-DEMO-CEO"), Address("teams", "demo-cfo-entra-id")
    enrol(core, ceo, "Chief Executive", quota=2)
    enrol(core, cfo, "Finance Director", quota=1, departments=["Billing"])
    month = f"{now:%Y-%m}"
    asyncio.run(assign_month(core, outbound, month, now.date()))
    first = complaints.mine(core, ceo)[0]
    complaints.resolve(core, ceo, first.id, "Called the customer and put it right.")
    console.print(f"6. the Chief Executive resolved #{first.id}; the scoreboard so far")
    console.print(render_scoreboard(month, scoreboard(core, month)))


def _summary(core: Upside, digests: list) -> Table:
    table = Table(title=f"Summary: last {DIGEST_DAYS} days by department")
    for column in ("department", "items", "negative", "neutral", "positive", "top topic"):
        table.add_column(
            column, justify="left" if column in {"department", "top topic"} else "right"
        )
    for digest in digests:
        table.add_row(
            Text(digest.department),
            str(digest.volume),
            *(f"{digest.share(s):.0%}" for s in ("negative", "neutral", "positive")),
            Text(digest.topics[0].name if digest.topics else "—"),
        )
    with core.session() as session:
        stored = session.exec(select(func.count()).select_from(FeedbackItem)).one()
        unrouted = session.exec(
            select(func.count()).where(FeedbackItem.department_id.is_(None))
        ).one()
        redacted = session.exec(
            select(func.count()).where(FeedbackItem.text != FeedbackItem.display_text)
        ).one()
    table.caption = Text(
        f"{stored} items stored, {unrouted} matched no topic, {redacted} had personal data redacted"
    )
    return table
