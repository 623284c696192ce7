"""Storage on SQLite and PostgreSQL: migrations, constraints and time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.db import is_model_object
from bot.models import Department, DigestRun, FeedbackItem, SQLModel, Topic, TopicExample

TABLES = {
    "alembic_version",
    "department",
    "topic",
    "topicexample",
    "feedbackitem",
    "topiccorrection",
    "executive",
    "complaintassignment",
    "digestrun",
    "attention",
}


def test_migrations_create_every_table_and_are_idempotent(core):
    assert set(inspect(core.engine).get_table_names()) >= TABLES
    core.migrate()  # a second run at start-up changes nothing
    with core.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_the_migrations_build_exactly_the_models(core):
    with core.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": is_model_object})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert {"slack_bots", "slack_installations", "apscheduler_jobs"} <= set(
        inspect(core.engine).get_table_names()
    )


def test_starter_set_is_loaded(core):
    with core.session() as session:
        departments = session.exec(select(Department)).all()
        topics = session.exec(select(Topic)).all()
        examples = session.exec(select(TopicExample)).all()
    assert len(departments) == 7
    assert len(topics) == 8
    assert all(t.department_id for t in topics)
    assert len(examples) >= 8 * 5


def _item(external_id: str, **overrides) -> FeedbackItem:
    values = {
        "source": "test",
        "external_id": external_id,
        "text": "hello",
        "display_text": "hello",
        "created_at": datetime(2026, 11, 1, tzinfo=UTC),
    }
    return FeedbackItem(**(values | overrides))


def test_source_and_external_id_are_unique(core):
    with core.session() as session:
        session.add(_item("1"))
    with pytest.raises(IntegrityError), core.session() as session:
        session.add(_item("1"))
    with core.session() as session:
        session.add(_item("1", source="other"))
        assert len(session.exec(select(FeedbackItem)).all()) == 2


def test_digest_period_is_unique_per_department(core):
    with core.session() as session:
        department_id = session.exec(select(Department.id)).first()
    end = datetime(2026, 11, 2, 9, tzinfo=UTC)
    run = {"department_id": department_id, "period_start": end - timedelta(days=1)}
    with core.session() as session:
        session.add(DigestRun(period_end=end, **run))
    with pytest.raises(IntegrityError), core.session() as session:
        session.add(DigestRun(period_end=end, **run))


def test_foreign_keys_are_enforced(core):
    with pytest.raises(IntegrityError), core.session() as session:
        session.add(_item("fk", topic_id=999_999))


def test_times_come_back_aware_and_in_utc(core):
    local = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    with core.session() as session:
        session.add(_item("tz", created_at=local))
    with core.session() as session:
        stored = session.exec(select(FeedbackItem).where(FeedbackItem.external_id == "tz")).one()
    assert stored.created_at == local
    assert stored.created_at.utcoffset() == timedelta(0)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_core):
    with sqlite_core.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_upgrading_keeps_what_the_monthly_programme_did_before_notices(database_url):
    from bot.db import make_engine, upgrade
    from bot.models import Notice

    engine = make_engine(database_url)
    upgrade(engine, "0009")
    when = datetime(2026, 11, 2, 8, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO executive (id, name, user_id, quota, active, created_at)"
                " VALUES (1, 'Dana', 'UDANA', 3, true, :when)"
            ),
            {"when": when},
        )
        for item in (1, 2, 3):
            connection.execute(
                text(
                    "INSERT INTO feedbackitem (id, source, external_id, channel, author, text,"
                    " display_text, link, created_at, received_at)"
                    " VALUES (:id, 'webhook', :id, '', '', 'bad', 'bad', '', :when, :when)"
                ),
                {"id": item, "when": when},
            )
        for item, origin in ((1, "monthly"), (2, "monthly"), (3, "claim")):
            connection.execute(
                text(
                    "INSERT INTO complaintassignment (feedback_id, executive_id, month, status,"
                    " note, assigned_at, origin) VALUES (:id, 1, '2026-11', 'assigned', '',"
                    " :when, :origin)"
                ),
                {"id": item, "when": when, "origin": origin},
            )
    upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            select(Notice.kind, Notice.key, Notice.status).order_by(Notice.kind, Notice.key)
        ).all()
        claimed = connection.execute(
            text("SELECT feedback_id FROM complaintassignment WHERE claimed_at IS NOT NULL")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("assigned", "1", "sent"),
        ("assigned", "2", "sent"),
        ("assignment", "2026-11", "sent"),
    ]
    assert [r[0] for r in claimed] == [3]  # taken with `claim`: claimed when assigned


def test_upgrading_carries_departments_and_executives_over_as_slack(database_url):
    from bot.db import make_engine, upgrade

    engine = make_engine(database_url)
    upgrade(engine, "0010")
    when = datetime(2026, 11, 2, 8, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO executive (id, name, user_id, quota, active, created_at)"
                " VALUES (1, 'Dana', 'UDANA', 3, true, :when)"
            ),
            {"when": when},
        )
        connection.execute(
            text(
                "INSERT INTO department (id, name, channel, timezone, digest_time, work_days,"
                " holidays, quiet, workspace, created_at)"
                " VALUES (1, 'Billing', 'C123', 'UTC', '09:00', 'mon-fri', '', 'line', 'T1', :when)"
            ),
            {"when": when},
        )
        connection.execute(
            text(
                "INSERT INTO feedbackitem (id, source, external_id, channel, author, text,"
                " display_text, link, created_at, received_at)"
                " VALUES (1, 'slack', 'T1:C1:1.2', '', '', 'bad', 'bad', '', :when, :when)"
            ),
            {"when": when},
        )
        connection.execute(
            text(
                "INSERT INTO complaintassignment (feedback_id, executive_id, month, status, note,"
                " assigned_at, origin) VALUES (1, 1, '2026-11', 'resolved', '', :when, 'claim')"
            ),
            {"when": when},
        )
    upgrade(engine)
    with engine.connect() as connection:
        executive = connection.execute(text("SELECT platform, user_id FROM executive")).one()
        department = connection.execute(text("SELECT platform, workspace FROM department")).one()
        kept = connection.execute(text("SELECT executive_id FROM complaintassignment")).one()
    assert tuple(executive) == ("slack", "UDANA") and tuple(department) == ("slack", "T1")
    assert kept == (1,)  # rebuilding the executive table kept what points at it
    engine.dispose()
