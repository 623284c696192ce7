"""Digest speed on a large feedback table: every department's daily digest in under a second.

    .venv/bin/python bench/digest.py [--rows N] [--indexes]

For SQLite (a temp file) and PostgreSQL (a fresh upside_bench_<random> database made from
UPSIDE_BENCH_POSTGRES_URL, default postgres@127.0.0.1:5432/test, dropped at the end; skipped
with the reason when unreachable): migrate, make 10 departments with 3 topics each, bulk-load
N classified items spread uniformly over the last 90 days (about 1% deleted) plus the
executives' complaints, ANALYZE, then time `build_digest` for all 10 departments (the last
24 hours against the 24 before, plus the 14-day chart), best of 3, with each query's database
time. When the target is missed, or with --indexes, the slowest query's plan is printed and
candidate indexes are tried one by one (in the bench database only) against the existing ones.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import select

import bot.digests.build
from bench.postgres import postgres_database
from bot.db import make_engine, session_scope, upgrade
from bot.digests.build import CHART_DAYS, build_digest
from bot.models import ComplaintAssignment, Department, Executive, FeedbackItem, Topic

DEPARTMENTS = 10
TOPICS_PER_DEPARTMENT = 3
SPAN = timedelta(days=90)
PERIOD = timedelta(hours=24)
ROUNDS = 3
TARGET_S = 1.0
DELETED_SHARE = 0.01
NO_TOPIC_SHARE = 0.05  # below the classifier's confidence threshold
EXECUTIVES = 5  # each handles Executive.quota (3) complaints a month

COLUMNS = (
    "source",
    "external_id",
    "channel",
    "author",
    "text",
    "display_text",
    "link",
    "created_at",
    "received_at",
    "sentiment",
    "sentiment_score",
    "topic_id",
    "topic_confidence",
    "department_id",
    "model_version",
    "classified_at",
    "deleted_at",
)
SOURCES = ("zendesk", "appstore", "slack", "teams", "email")
ADJECTIVES = ("slow", "friendly", "broken", "great", "confusing", "quick", "rude", "helpful")
NOUNS = ("checkout", "support", "delivery", "app", "invoice", "refund", "login", "courier")

# Tried in the bench database only, one at a time, on top of the migrated schema.
CANDIDATES = (
    "(department_id, created_at, sentiment)",
    "(department_id, sentiment, sentiment_score)",
    "(department_id, created_at, sentiment, topic_id, sentiment_score, classified_at, deleted_at)",
    "(department_id, created_at, sentiment, topic_id, sentiment_score)"
    " WHERE classified_at IS NOT NULL AND deleted_at IS NULL",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="feedback items to load")
    parser.add_argument(
        "--indexes", action="store_true", help="try the candidate indexes even when on target"
    )
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    print(
        f"{args.rows:,} classified items over the last {SPAN.days} days, {DEPARTMENTS} "
        f"departments x {TOPICS_PER_DEPARTMENT} topics, ~{DELETED_SHARE:.0%} deleted; digest = "
        f"build_digest for every department (last 24 h vs the 24 h before, "
        f"{CHART_DAYS}-day chart), best of {ROUNDS}"
    )
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            bench(engine, f"SQLite {sqlite3.sqlite_version} (temp file)", args, now)
        finally:
            engine.dispose()
    with postgres_database() as url:
        if url is None:
            return
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                version = connection.execute(text("SHOW server_version")).scalar_one()
            bench(engine, f"PostgreSQL {version} ({make_url(url).database})", args, now)
        finally:
            engine.dispose()


def bench(engine: Engine, label: str, args: argparse.Namespace, now: datetime) -> None:
    """Load, analyse and time one database; try indexes when the target is missed."""
    print(f"\n== {label}", flush=True)
    upgrade(engine)
    departments = make_departments(engine)
    settle(engine)
    started = time.perf_counter()
    loaded = load(engine, departments, args.rows, now)
    load_s = time.perf_counter() - started
    complaints = add_complaints(engine, loaded, now)
    analyse(engine)
    checkpoint(engine)
    start, end = now - PERIOD, now
    volume = sum(d.volume for d in all_digests(engine, start, end))
    expected = args.rows * PERIOD / SPAN * (1 - DELETED_SHARE)
    total, parts, statements = digest_time(engine, start, end)
    print(f"{'figure':34} {'value':>12} {'target':>8}  met")
    _row("rows loaded", f"{loaded:,}")
    _row("load s", f"{load_s:.1f}")
    _row("load rows/s", f"{loaded / load_s:,.0f}")
    _row("complaint assignments", f"{complaints:,}")
    _row("items in the last 24 h (all depts)", f"{volume:,}", f"~{expected:,.0f}")
    _row("digest, 10 departments ms", f"{total * 1000:.0f}", "< 1000", total < TARGET_S)
    _row("digest, per department ms", f"{total * 100:.1f}")
    print("database time per query of build_digest, 10 departments together (best of 3):")
    for name, seconds in parts.items():
        print(f"  {name:32} {seconds * 1000:>12.1f} ms")
    print(f"target < 1 s: {'yes' if total < TARGET_S else 'no'}")
    if total >= TARGET_S or args.indexes:
        slowest = max(parts, key=parts.__getitem__)
        statement, parameters = statements[slowest]
        print(f"\nplan of the slowest query ({slowest}), existing indexes:")
        print("  " + " ".join(statement.split()))
        print(explain(engine, statement, parameters))
        try_indexes(engine, start, end, total, slowest)


def make_departments(engine: Engine) -> dict[int, list[int]]:
    """Ten departments with three topics each; returns department id -> topic ids."""
    with session_scope(engine) as session:
        departments = [
            Department(name=f"Department {d:02d}", channel=f"#dept-{d:02d}")
            for d in range(DEPARTMENTS)
        ]
        session.add_all(departments)
        session.flush()
        topics = [
            Topic(name=f"Department {d:02d} topic {t}", department_id=department.id)
            for d, department in enumerate(departments)
            for t in range(TOPICS_PER_DEPARTMENT)
        ]
        session.add_all(topics)
        session.flush()
        owned: dict[int, list[int]] = {department.id: [] for department in departments}  # type: ignore[misc]
        for topic in topics:
            owned[topic.department_id].append(topic.id)  # type: ignore[index,arg-type]
        return owned


def rows(
    count: int, departments: dict[int, list[int]], now: datetime, zone: str
) -> Iterator[tuple]:
    """Synthetic classified items in time order (as they arrive), timestamps as text.

    SQLite gets SQLAlchemy's own storage format (naive UTC, microseconds); PostgreSQL the
    same text with `zone` appended.
    """
    draw = random.Random(20261124).random
    first = (now - SPAN).replace(tzinfo=None)
    step = SPAN.total_seconds() / count
    ids = list(departments)
    topics = [departments[department] for department in ids]
    lag = timedelta(seconds=2)  # received at once, classified two seconds later
    for index in range(count):
        created = first + timedelta(seconds=(index + draw()) * step)
        stamp = created.isoformat(" ", "microseconds") + zone
        classified = (created + lag).isoformat(" ", "microseconds") + zone
        pick = int(draw() * DEPARTMENTS)
        topic = (
            None if draw() < NO_TOPIC_SHARE else topics[pick][int(draw() * TOPICS_PER_DEPARTMENT)]
        )
        mood = draw()
        if mood < 0.3:
            sentiment, score = "negative", -0.2 - 0.8 * draw()
        elif mood < 0.6:
            sentiment, score = "neutral", 0.4 * draw() - 0.2
        else:
            sentiment, score = "positive", 0.2 + 0.8 * draw()
        words = f"{ADJECTIVES[index % len(ADJECTIVES)]} {NOUNS[int(draw() * len(NOUNS))]} #{index}"
        yield (
            SOURCES[index % len(SOURCES)],
            f"{index:09d}",
            "",
            "",
            words,
            words,
            "",
            stamp,
            stamp,
            sentiment,
            score,
            topic,
            None if topic is None else 0.5 + 0.5 * draw(),
            ids[pick],
            "bench",
            classified,
            classified if draw() < DELETED_SHARE else None,
        )


def load(engine: Engine, departments: dict[int, list[int]], count: int, now: datetime) -> int:
    """Bulk-load: one executemany transaction on SQLite, COPY on PostgreSQL.

    SQLite keeps its foreign key checks (lookups in two tiny tables, ~5% of the load).
    """
    if engine.dialect.name == "sqlite":
        _check_sqlite_format(engine, now)
        raw = engine.raw_connection()
        try:
            connection = raw.driver_connection
            connection.execute("PRAGMA synchronous=OFF")
            placeholders = ", ".join("?" * len(COLUMNS))
            connection.execute("BEGIN")
            connection.executemany(
                f"INSERT INTO feedbackitem ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                rows(count, departments, now, ""),
            )
            connection.commit()
            connection.execute("PRAGMA synchronous=NORMAL")
        finally:
            raw.close()
    else:
        raw = engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
                # The rows are valid by construction: skip the per-row foreign key triggers,
                # which halve COPY's speed, for this transaction only (superusers only).
                cursor.execute("SELECT current_setting('is_superuser')")
                if cursor.fetchone()[0] == "on":  # type: ignore[index]
                    cursor.execute("SET LOCAL session_replication_role = replica")
                statement = f"COPY feedbackitem ({', '.join(COLUMNS)}) FROM STDIN"
                with cursor.copy(statement) as copy:
                    for row in rows(count, departments, now, "+00"):
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM feedbackitem")).scalar_one()


def add_complaints(engine: Engine, loaded: int, now: datetime) -> int:
    """Executives' complaints, spread over the span: open for 5 days, then resolved."""
    months = round(SPAN.days / 30)
    count = EXECUTIVES * Executive.model_fields["quota"].default * months
    step = loaded // count
    with session_scope(engine) as session:
        executives = [
            Executive(name=f"Executive {e}", user_id=f"U{e:04d}") for e in range(EXECUTIVES)
        ]
        session.add_all(executives)
        session.flush()
        nearby = [k * step + offset + 1 for k in range(count) for offset in range(20)]
        items = session.exec(
            select(FeedbackItem.id, FeedbackItem.created_at).where(
                FeedbackItem.id.in_(nearby),  # type: ignore[union-attr]
                FeedbackItem.sentiment == "negative",
                FeedbackItem.deleted_at.is_(None),
            )
        ).all()
        first: dict[int, tuple[int, datetime]] = {}
        for item_id, created in sorted(items):
            first.setdefault((item_id - 1) // step, (item_id, created))
        for number, (item_id, created) in enumerate(first.values()):
            assigned = created + timedelta(hours=1)
            resolved = assigned + timedelta(days=4, hours=number % 24)
            session.add(
                ComplaintAssignment(
                    feedback_id=item_id,
                    executive_id=executives[number % EXECUTIVES].id,  # type: ignore[arg-type]
                    month=assigned.strftime("%Y-%m"),
                    status="resolved" if resolved < now else "assigned",
                    note="called the customer back and fixed it" if resolved < now else "",
                    assigned_at=assigned,
                    resolved_at=resolved if resolved < now else None,
                )
            )
        return len(first)


def _check_sqlite_format(engine: Engine, now: datetime) -> None:
    """The raw text written must be what the model's column type stores, or ranges break."""
    column_type = FeedbackItem.__table__.c.created_at.type  # type: ignore[attr-defined]
    stored = column_type.dialect_impl(engine.dialect).bind_processor(engine.dialect)(now)
    written = now.replace(tzinfo=None).isoformat(" ", "microseconds")
    if stored != written:
        raise SystemExit(f"SQLite timestamp format changed: {stored!r} != {written!r}")


def analyse(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def settle(engine: Engine) -> None:
    """PostgreSQL: no autovacuum on the bench table, so nothing runs beside the timings.

    The figures are those of a freshly loaded and analysed table (no visibility map, so no
    index-only scans); a table autovacuum has visited can be faster, never slower.
    """
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE feedbackitem SET (autovacuum_enabled = false)"))


def checkpoint(engine: Engine) -> None:
    """SQLite: move the load out of the WAL into the database file, as a running app has."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def all_digests(
    engine: Engine, start: datetime, end: datetime, each: Callable[[], None] | None = None
) -> list:
    """Every department's digest, one session each, as `Upside.digest` does."""
    with session_scope(engine) as session:
        departments = session.exec(select(Department).order_by(Department.id)).all()
    digests = []
    for department in departments:
        if each:
            each()
        with session_scope(engine) as session:
            digests.append(build_digest(session, department, start, end))
    return digests


def digest_time(
    engine: Engine, start: datetime, end: datetime
) -> tuple[float, dict[str, float], dict[str, tuple[str, object]]]:
    """Best of ROUNDS for all departments' digests, then the database time of each query.

    The queries are found by listening to what `build_digest` sends, named after the helper
    in bot/digest.py that sent them (#2 for its second call in the same digest), so the
    breakdown follows the code as it changes. The first department's statements come back
    too, with their parameters, for EXPLAIN.
    """
    all_digests(engine, start, end)  # warm the caches
    total = min(_timed(lambda: all_digests(engine, start, end)) for _ in range(ROUNDS))
    rounds: list[dict[str, float]] = []
    statements: dict[str, tuple[str, object]] = {}
    for _ in range(ROUNDS):
        with _listening(engine) as (log, next_digest):
            all_digests(engine, start, end, each=next_digest)
        sums: dict[str, float] = {}
        for name, seconds, statement, parameters in log:
            sums[name] = sums.get(name, 0.0) + seconds
            statements.setdefault(name, (statement, parameters))
        rounds.append(sums)
    return total, {name: min(r[name] for r in rounds) for name in rounds[0]}, statements


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


@contextmanager
def _listening(
    engine: Engine,
) -> Iterator[tuple[list[tuple[str, float, str, object]], Callable[[], None]]]:
    """(query name, seconds, SQL, parameters) for every statement `build_digest` executes.

    Also yields the function to call before each digest, which restarts the #2 counting.
    """
    log: list[tuple[str, float, str, object]] = []
    seen: dict[str, int] = {}
    pending: list[tuple[str, float, str, object]] = []

    def before(_conn, _cursor, statement, parameters, _context, _many) -> None:
        name = _sender()
        if name is None:
            return
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name} #{seen[name]}"
        pending.append((name, time.perf_counter(), statement, parameters))

    def after(_conn, _cursor, _statement, _parameters, _context, _many) -> None:
        if pending:
            name, started, statement, parameters = pending.pop()
            log.append((name, time.perf_counter() - started, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield log, seen.clear
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


DIGEST_SOURCE = bot.digests.build.__file__


def _sender() -> str | None:
    """The bot/digests/build.py helper below build_digest on the stack, if build_digest is there."""
    frame = sys._getframe(1)
    helper = None
    while frame is not None:
        code = frame.f_code
        if code.co_filename == DIGEST_SOURCE:
            if code.co_name == "build_digest":
                return helper or "build_digest"
            helper = code.co_name.lstrip("_")
        frame = frame.f_back
    return None


def explain(engine: Engine, statement: str, parameters: object) -> str:
    """The database's plan for one statement (PostgreSQL: executed, with timings)."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            depth: dict[int, int] = {0: 0}
            lines = []
            for node, parent, _, detail in plan:
                depth[node] = depth.get(parent, 0) + 1
                lines.append("  " * depth[node] + detail)
            return "\n".join(lines)
        plan = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
        return "\n".join("    " + line for (line,) in plan)


def try_indexes(
    engine: Engine, start: datetime, end: datetime, baseline: float, slowest: str
) -> None:
    """Each candidate alone on top of the migrated schema; which queries use it, how fast."""
    print(
        "\ncandidate indexes, one at a time on top of the existing ones "
        f"(baseline: {baseline * 1000:.0f} ms)"
    )
    results = []
    for number, definition in enumerate(CANDIDATES, 1):
        index = f"ix_bench_candidate_{number}"
        with engine.begin() as connection:
            connection.execute(text(f"CREATE INDEX {index} ON feedbackitem {definition}"))
        analyse(engine)
        try:
            total, parts, statements = digest_time(engine, start, end)
            plans = {name: explain(engine, *statement) for name, statement in statements.items()}
        finally:
            with engine.begin() as connection:
                connection.execute(text(f"DROP INDEX {index}"))
        analyse(engine)
        used = [name for name, plan in plans.items() if index in plan]
        print(f"{number}. {definition}")
        print(
            f"   digest {total * 1000:.0f} ms, {baseline / total:.1f}x the baseline, "
            f"target < 1 s: {'yes' if total < TARGET_S else 'no'}; used by: "
            + (", ".join(used) if used else "no query (same plans: any difference is noise)")
        )
        print(
            "   per query ms: "
            + " | ".join(f"{name} {seconds * 1000:.1f}" for name, seconds in parts.items())
        )
        if used:
            shown = slowest if slowest in used else used[0]
            results.append((total, definition, shown, plans[shown]))
    if baseline < TARGET_S:
        print(f"the existing indexes already meet the target ({baseline * 1000:.0f} ms)")
    if not results:
        print("no candidate changes any plan")
        return
    total, best, shown, plan = min(results)
    if baseline >= TARGET_S and total >= TARGET_S:
        print("no single candidate meets the target")
    noise = " (within noise)" if baseline / total < 1.1 else ""
    print(
        f"fastest candidate in use: {best}, {total * 1000:.0f} ms ({baseline / total:.1f}x{noise})"
    )
    print(f"plan of {shown} with it:")
    print(plan)


def _row(name: str, value: str, target: str = "", met: bool | None = None) -> None:
    mark = "" if met is None else ("yes" if met else "NO")
    print(f"{name:34} {value:>12} {target:>8}  {mark}")


if __name__ == "__main__":
    main()
