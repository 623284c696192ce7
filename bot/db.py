"""Engine, sessions and migrations for SQLite (WAL, foreign keys on) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, enforced foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_new(session: Session, model: type[SQLModel], keys: list[str], **values: object):
    """Insert a row unless one with the same `keys` exists; returns the new id or None.

    The database's unique constraint decides, so racing processes cannot both insert.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    row = model(**values).model_dump(exclude={"id"})  # with the model's defaults filled in
    statement = (
        dialect.insert(model)
        .values(**row)
        .on_conflict_do_nothing(index_elements=keys)
        .returning(model.id)  # type: ignore[attr-defined]
    )
    return session.execute(statement).scalar_one_or_none()


LIBRARY_TABLES = ("slack_", "apscheduler_")  # slack_sdk's stores (0004), APScheduler's jobs (0007)


def is_model_object(obj: object, name: str | None, kind: str, reflected: bool, _: object) -> bool:
    """For autogenerate: tables that libraries define come from migrations but not models."""
    return not (kind == "table" and reflected and name and name.startswith(LIBRARY_TABLES))


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration pointing at the packaged migrations and the given engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision`; safe to run at every start."""
    command.upgrade(alembic_config(engine), revision)


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def connection_problem(engine: Engine) -> str | None:
    """Why the database cannot be reached (its driver's first line), or None when it can."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # every driver has its own errors; the message says enough
        cause = getattr(exc, "orig", None) or exc
        return (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return None


def missing_file(engine: Engine) -> bool:
    """Whether the engine is SQLite on a file that does not exist (connecting would make it)."""
    database = engine.url.database
    is_file = engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:")
    return is_file and not Path(str(database)).is_file()


def initialised(engine: Engine) -> bool:
    """Whether migrations have run in this database."""
    return inspect(engine).has_table("alembic_version")
