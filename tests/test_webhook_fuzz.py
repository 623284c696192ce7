"""Random bodies posted to the webhook over real HTTP, on SQLite and PostgreSQL: never a 5xx."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import webhook
from bot.core import Upside
from bot.server import create_app
from tests.conftest import WEBHOOK_TOKEN

HEADERS = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}

# Any code point, lone surrogates and NUL included.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-14))])
DATES = st.datetimes(min_value=datetime(1, 1, 1), timezones=ZONES).map(datetime.isoformat)
ITEM = st.fixed_dictionaries(
    {"source": st.sampled_from(["zendesk", ""]) | ANY_TEXT, "text": ANY_TEXT | JSON_VALUES},
    optional={
        "id": ANY_TEXT | st.integers() | st.floats() | st.booleans() | JSON_VALUES,
        "created_at": DATES | ANY_TEXT | st.integers(),
        "link": st.sampled_from(["https://x.test/1", "mailto:a@b.c", "javascript:1"]) | ANY_TEXT,
        "author": ANY_TEXT | JSON_VALUES,
        "channel": ANY_TEXT,
    },
)
BODIES = st.one_of(
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
    ITEM.map(lambda item: json.dumps(item).encode()),
    st.lists(ITEM, min_size=1, max_size=5).map(lambda items: json.dumps(items).encode()),
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),
)


@pytest.fixture
def server(core: Upside) -> Iterator[int]:
    """`upside serve`'s app on a loopback port, in a thread of its own; yields the port."""
    loop = asyncio.new_event_loop()
    app = create_app(core)
    webhook.register(app, core)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODIES)
def test_no_body_gets_a_server_error(server: int, body: bytes) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    try:
        connection.request("POST", "/api/feedback", body=body, headers=HEADERS)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    assert response.status < 500, payload
    assert response.status in {202, 400}, payload
