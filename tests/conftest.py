"""Shared fixtures: the real model, real SQLite and PostgreSQL databases, and a network guard."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.core import Upside
from bot.intake.topics import apply_topics_file, read_topics_file
from classifiers import Classifier

if TYPE_CHECKING:
    from tests.teams_harness import TeamsHarness

DATA = Path(__file__).parent / "data"
POSTGRES_URL = os.environ.get(
    "UPSIDE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WEBHOOK_TOKEN = "test-webhook-token"


@pytest.fixture(autouse=True, scope="session")
def loopback_only() -> Iterator[None]:
    """Fail any test that tries to connect beyond this machine."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]  # type: ignore[index]
            if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
                raise AssertionError(f"test tried to reach {address}; only loopback is allowed")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    """The real bundled model, loaded once for the whole run."""
    return Classifier.load()


def _postgres_admin_url() -> str:
    try:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI and unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin_url = _postgres_admin_url()
    name = f"upside_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'upside.db'}"
    return request.getfixturevalue("postgres_url")


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for tests: no .env file, a known webhook token."""
    values: dict[str, object] = {"database_url": database_url, "webhook_token": WEBHOOK_TOKEN}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_core(database_url: str, classifier: Classifier, **overrides: object) -> Upside:
    """A migrated database with the starter departments and topics, and the real model."""
    upside = Upside(make_settings(database_url, **overrides), classifier=classifier)
    upside.migrate()
    with upside.session() as session:
        apply_topics_file(session, read_topics_file())
    return upside


@pytest.fixture
def core(database_url: str, classifier: Classifier) -> Iterator[Upside]:
    """`make_core` on SQLite and on PostgreSQL."""
    upside = make_core(database_url, classifier)
    yield upside
    upside.engine.dispose()


@pytest.fixture
def sqlite_core(tmp_path: Path, classifier: Classifier) -> Iterator[Upside]:
    """Like `core`, on SQLite only, for tests about behaviour rather than storage."""
    upside = make_core(f"sqlite:///{tmp_path / 'upside.db'}", classifier)
    yield upside
    upside.engine.dispose()


@pytest_asyncio.fixture(loop_scope="function")
async def teams(tmp_path: Path, classifier: Classifier) -> AsyncIterator[TeamsHarness]:
    """Upside with Teams on, against fakes of Microsoft's side (see tests/teams_harness.py)."""
    from tests.teams_harness import teams_server  # it builds on this module's make_core

    async with teams_server(tmp_path, classifier) as harness:
        yield harness


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Whether `condition` holds within `seconds` (work done after an acknowledgement)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
