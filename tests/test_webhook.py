"""`POST /api/feedback` and `GET /healthz` over real HTTP, as `upside serve` builds the app."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func
from sqlmodel import select

from adapters import webhook
from bot.core import Upside
from bot.models import Department, FeedbackItem, Topic
from bot.server import create_app
from tests.conftest import WEBHOOK_TOKEN

AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
RAW = {**AUTH, "Content-Type": "application/json"}  # for bodies posted as bytes
URL = "/api/feedback"

# pytest-aiohttp's fixtures run on the session loop (asyncio_default_fixture_loop_scope).
pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def make_client(aiohttp_client):
    """A test client for the app `upside serve` runs, over `core`."""

    async def make(core: Upside) -> TestClient:
        app = create_app(core)
        webhook.register(app, core)
        return await aiohttp_client(app)

    return make


def item(external_id: str = "t-1", text: str = "My parcel is late.", **extra: object) -> dict:
    return {"source": "zendesk", "id": external_id, "text": text, **extra}


def stored(core: Upside) -> list[FeedbackItem]:
    with core.session() as session:
        return list(session.exec(select(FeedbackItem).order_by(FeedbackItem.id)))


def count(core: Upside) -> int:
    with core.session() as session:
        return session.exec(select(func.count()).select_from(FeedbackItem)).one()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-the-token"},
        {"Authorization": f"Basic {WEBHOOK_TOKEN}"},
        {"Authorization": WEBHOOK_TOKEN},
    ],
    ids=["missing", "wrong-token", "wrong-scheme", "no-scheme"],
)
async def test_refuses_without_the_bearer_token(sqlite_core, make_client, headers) -> None:
    client = await make_client(sqlite_core)
    response = await client.post(URL, json=item(), headers=headers)
    assert response.status == 401
    assert "token" in (await response.json())["error"]
    assert count(sqlite_core) == 0


async def test_refuses_every_call_when_no_token_is_configured(sqlite_core, make_client) -> None:
    sqlite_core.settings = sqlite_core.settings.model_copy(update={"webhook_token": None})
    client = await make_client(sqlite_core)
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
        response = await client.post(URL, json=item(), headers=headers)
        assert response.status == 401
    assert count(sqlite_core) == 0


async def test_invalid_json_is_a_400_saying_so(sqlite_core, make_client) -> None:
    client = await make_client(sqlite_core)
    for body in (b'{"source": "x", "text": ', b"\xff\xfe not utf-8", b""):
        response = await client.post(URL, data=body, headers=RAW)
        assert response.status == 400
        assert "not valid JSON" in (await response.json())["error"]
    assert count(sqlite_core) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "zendesk", "id": "1"}, "text"),
        ({"source": "zendesk", "id": "1", "text": 42}, "text"),
        ({"id": "1", "text": "late parcel"}, "source"),
        ({"source": "zendesk", "id": "1", "text": "late", "created_at": "yesterday"}, "created_at"),
        (
            [{"source": "zendesk", "id": "1", "text": "ok"}, {"source": "zendesk", "id": "2"}],
            "text",
        ),
    ],
    ids=["missing-text", "number-text", "missing-source", "bad-created-at", "bad-list-item"],
)
async def test_wrong_shape_is_a_400_naming_the_field(sqlite_core, make_client, body, field) -> None:
    client = await make_client(sqlite_core)
    response = await client.post(URL, json=body, headers=AUTH)
    assert response.status == 400
    payload = await response.json()
    assert "feedback item" in payload["error"]
    assert any(field in detail for detail in payload["details"]), payload["details"]
    assert count(sqlite_core) == 0


async def test_a_bare_number_is_not_a_feedback_item(sqlite_core, make_client) -> None:
    client = await make_client(sqlite_core)
    response = await client.post(URL, data=b"42", headers=RAW)
    assert response.status == 400
    assert "feedback item" in (await response.json())["error"]


async def test_an_empty_list_is_a_400(sqlite_core, make_client) -> None:
    client = await make_client(sqlite_core)
    response = await client.post(URL, json=[], headers=AUTH)
    assert response.status == 400
    assert "between 1 and" in (await response.json())["error"]


async def test_one_blank_item_in_a_list_stores_nothing(core, make_client) -> None:
    client = await make_client(core)
    body = [item("ok-1", "The courier was lovely."), item("blank", " \n\t "), item("ok-2")]
    response = await client.post(URL, json=body, headers=AUTH)
    assert response.status == 400
    payload = await response.json()
    assert "nothing was stored" in payload["error"]
    assert payload["details"] == ["1: empty text"]
    assert count(core) == 0


async def test_text_over_the_limit_is_a_400(sqlite_core, make_client) -> None:
    client = await make_client(sqlite_core)
    limit = sqlite_core.settings.max_text_length
    response = await client.post(URL, json=item(text="x" * (limit + 1)), headers=AUTH)
    assert response.status == 400
    assert str(limit) in (await response.json())["details"][0]
    response = await client.post(URL, json=item(text="x" * limit), headers=AUTH)
    assert response.status == 202
    assert count(sqlite_core) == 1


async def test_one_item_is_stored_and_its_id_returned(core, make_client) -> None:
    client = await make_client(core)
    response = await client.post(URL, json=item("ZD-1", "Where is my parcel?"), headers=AUTH)
    assert response.status == 202
    payload = await response.json()
    [row] = stored(core)
    assert payload == {
        "accepted": 1,
        "duplicates": 0,
        "items": [{"id": row.id, "status": "accepted"}],
    }
    assert (row.source, row.external_id, row.text) == ("zendesk", "ZD-1", "Where is my parcel?")


async def test_a_list_is_stored_in_order(core, make_client) -> None:
    client = await make_client(core)
    texts = ["Parcel came early, thanks!", "Refund still missing.", "App crashes at checkout."]
    body = [item(f"L-{n}", text) for n, text in enumerate(texts)]
    response = await client.post(URL, json=body, headers=AUTH)
    assert response.status == 202
    payload = await response.json()
    rows = stored(core)
    assert [row.text for row in rows] == texts
    assert payload["accepted"] == 3
    assert payload["items"] == [{"id": row.id, "status": "accepted"} for row in rows]


async def test_sending_the_same_item_again_is_a_duplicate(core, make_client) -> None:
    client = await make_client(core)
    first = await (await client.post(URL, json=item("dup-1"), headers=AUTH)).json()
    response = await client.post(URL, json=[item("dup-1"), item("dup-2")], headers=AUTH)
    assert response.status == 202
    second = await response.json()
    assert second["accepted"] == 1
    assert second["duplicates"] == 1
    assert second["items"][0] == {"id": first["items"][0]["id"], "status": "duplicate"}
    assert second["items"][1]["status"] == "accepted"
    assert count(core) == 2


async def test_personal_data_never_leaves_in_the_response(core, make_client) -> None:
    client = await make_client(core)
    text = (
        "Charged twice on card 4111 1111 1111 1111. Email me at jo.bloggs@example.com "
        "or call 415-555-0132."
    )
    response = await client.post(URL, json=item("pii-1", text), headers=AUTH)
    assert response.status == 202
    raw = await response.text()
    for secret in ("4111", "jo.bloggs", "example.com", "555-0132"):
        assert secret not in raw
    [row] = stored(core)
    assert row.text == text
    assert row.display_text == (
        "Charged twice on card [card]. Email me at [email] or call [phone]."
    )


async def test_the_worker_classifies_and_routes_after_ingest(core, make_client) -> None:
    # A poll interval far longer than the wait below: only ingest waking the worker can pass.
    core.settings = core.settings.model_copy(update={"worker_interval": 120.0})
    client = await make_client(core)
    await asyncio.sleep(0.5)  # let the worker finish its first, empty round and sleep
    text = "Terrible delivery. The parcel is two weeks late and the courier left it in the rain."
    loop = asyncio.get_running_loop()
    loop.set_debug(True)  # asyncio then refuses a thread-unsafe wake-up from the ingest thread
    try:
        response = await client.post(URL, json=item("late-1", text), headers=AUTH)
        assert response.status == 202
        deadline = time.monotonic() + 10
        while (row := stored(core)[0]).classified_at is None:
            assert time.monotonic() < deadline, "the worker did not classify the item in 10 s"
            await asyncio.sleep(0.1)
    finally:
        loop.set_debug(False)
    with core.session() as session:
        topic = session.get(Topic, row.topic_id) if row.topic_id else None
        department = session.get(Department, row.department_id) if row.department_id else None
    assert row.sentiment == "negative"
    assert row.sentiment_score is not None and row.sentiment_score < 0
    assert topic is not None and topic.name == "Delivery"
    assert department is not None and department.name == "Logistics"
    assert row.model_version == core.classifier.version


async def test_health_reports_database_and_model(core, make_client) -> None:
    client = await make_client(core)
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "database": "ok",
        "model": core.classifier.version,
    }


def refuse_writes(core: Upside) -> None:
    """Every new connection is read-only, as on a full disk or a read-only database."""
    sqlite = core.engine.dialect.name == "sqlite"
    statement = "PRAGMA query_only = ON" if sqlite else "SET default_transaction_read_only = on"

    @event.listens_for(core.engine, "connect")
    def read_only(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute(statement)
        cursor.close()
        connection.commit()

    core.engine.dispose()


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", "text/csv"])
async def test_a_body_that_is_not_json_by_its_type_is_a_415(sqlite_core, make_client, kind):
    client = await make_client(sqlite_core)
    response = await client.post(
        URL,
        data=b'{"source": "s", "id": "1", "text": "late"}',
        headers={**AUTH, "Content-Type": kind},
    )
    assert response.status == 415
    assert kind in (await response.json())["error"]
    assert count(sqlite_core) == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'"text": "late \\ud800 parcel"', "text"),
        (b'"text": "late", "author": "Ana\\u0000"', "author"),
        (b'"text": "late", "created_at": "0001-01-01T00:00:00+14:00"', "created_at"),
        (b'"text": "late", "created_at": "9999-12-31T23:59:59-14:00"', "created_at"),
        (b'"text": "late", "id": true', "id"),
        (b'"text": "late", "id": 1e400', "id"),
        (b'"text": "late", "link": "javascript:alert(1)"', "link"),
        (b'"text": "late", "link": "mailto:ana@example.com"', "link"),
    ],
    ids=["surrogate", "nul", "year-0", "year-10000", "bool-id", "infinite-id", "js-link", "mailto"],
)
async def test_unstorable_values_are_a_400_naming_item_and_field(core, make_client, raw, field):
    client = await make_client(core)
    bad = b'{"source": "zendesk", "id": "b-1", ' + raw + b"}"
    body = b'[{"source": "zendesk", "id": "g-1", "text": "fine"}, ' + bad + b"]"
    response = await client.post(URL, data=body, headers=RAW)
    assert response.status == 400, await response.text()
    details = (await response.json())["details"]
    assert len(details) == 1 and details[0].startswith(f"1.{field}"), details
    assert count(core) == 0


async def test_every_bad_item_and_field_is_named_at_once(sqlite_core, make_client) -> None:
    client = await make_client(sqlite_core)
    body = [
        item("a", text=42),
        item("b"),
        item("c", text="  "),
        item("d", link="ftp://x", author="\x00"),
        "not an object",
    ]
    response = await client.post(URL, json=body, headers=AUTH)
    assert response.status == 400
    details = (await response.json())["details"]
    assert [d.split(":")[0] for d in details] == ["0.text", "2", "3.author", "3.link", "4"]
    assert count(sqlite_core) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"source": "s", "id": "1", "text": "t", "extra": '
        + b'{"a":' * 50_000
        + b"1"
        + b"}" * 50_001,
    ],
    ids=["bare-lists", "inside-an-item"],
)
async def test_absurd_nesting_is_a_400(sqlite_core, make_client, body) -> None:
    client = await make_client(sqlite_core)
    response = await client.post(URL, data=body, headers=RAW)
    assert response.status == 400
    assert "nested deeper" in (await response.json())["error"]


async def test_brackets_inside_strings_do_not_count_as_nesting(sqlite_core, make_client) -> None:
    client = await make_client(sqlite_core)
    response = await client.post(URL, json=item(text='[[[[{"' * 40 + "late"), headers=AUTH)
    assert response.status == 202


def held_ingest(core):
    """Make `core.ingest` wait for the returned `release` event; `entered` is set on entry."""
    entered, release = threading.Event(), threading.Event()
    ingest = core.ingest

    def slow_ingest(items):
        entered.set()
        release.wait(10)
        return ingest(items)

    core.ingest = slow_ingest
    return entered, release


async def test_past_the_concurrency_bound_a_503_with_retry_after(sqlite_core, make_client) -> None:
    sqlite_core.settings = sqlite_core.settings.model_copy(update={"webhook_concurrency": 1})
    client = await make_client(sqlite_core)
    entered, release = held_ingest(sqlite_core)
    first = asyncio.ensure_future(client.post(URL, json=item("slow"), headers=AUTH))
    try:
        assert await asyncio.to_thread(entered.wait, 5)
        second = await asyncio.wait_for(client.post(URL, json=item("shed"), headers=AUTH), 5)
        assert second.status == 503
        assert second.headers["Retry-After"] == "1"
        assert "try again" in (await second.json())["error"]
    finally:
        release.set()
    assert (await first).status == 202
    assert [row.external_id for row in stored(sqlite_core)] == ["slow"]


async def test_a_short_pause_is_waited_out_not_shed(sqlite_core, make_client) -> None:
    sqlite_core.settings = sqlite_core.settings.model_copy(update={"webhook_concurrency": 1})
    client = await make_client(sqlite_core)
    entered, release = held_ingest(sqlite_core)
    first = asyncio.ensure_future(client.post(URL, json=item("first"), headers=AUTH))
    assert await asyncio.to_thread(entered.wait, 5)
    second = asyncio.ensure_future(client.post(URL, json=item("second"), headers=AUTH))
    await asyncio.sleep(0.2)  # the second waits for the slot while the first is stored
    release.set()
    assert [(await first).status, (await second).status] == [202, 202]
    assert sorted(row.external_id for row in stored(sqlite_core)) == ["first", "second"]


async def test_a_database_refusing_writes_is_a_json_503_with_retry_after(core, make_client):
    client = await make_client(core)
    refuse_writes(core)
    response = await client.post(URL, json=item("ro-1"), headers=AUTH)
    assert response.status == 503
    assert response.headers["Retry-After"]
    assert "database" in (await response.json())["error"]
    response = await client.get("/healthz")
    assert response.status == 503
    assert await response.json() == {
        "status": "degraded",
        "database": "not writable",
        "model": core.classifier.version,
    }
