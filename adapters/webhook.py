"""`POST /api/feedback`: JSON feedback from any system that holds the bearer token."""

from __future__ import annotations

import asyncio
import hmac
import json
import re

from aiohttp import web
from pydantic import ValidationError

from adapters.records import FeedbackRecord, describe
from bot.core import Upside
from bot.intake.ingest import problems

MAX_ITEMS = 1000
MAX_DEPTH = 32  # an item is three levels deep; extra fields may nest a little more
RETRY_AFTER = "1"  # seconds an overloaded webhook asks a sender to wait
QUEUE_SECONDS = 1.0  # how long a request may wait for a free slot before it is shed
QUEUE_DEPTH = 8  # requests that may wait, per slot; past it they are shed at once
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_SQUARE = bytes.maketrans(b"{}", b"[]")


class BadRequest(Exception):
    """The body cannot be stored; `details` name each bad item and field."""

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


def _error(status: int, message: str, details: list[str] | None = None) -> web.Response:
    body: dict = {"error": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status)


def _authorised(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def _json_content(request: web.Request) -> bool:
    """A missing Content-Type is taken as JSON; any other must be JSON (`+json` too)."""
    if "Content-Type" not in request.headers:
        return True
    kind = request.content_type
    structured = kind.startswith("application/") and kind.endswith("+json")
    return kind == "application/json" or structured


def _too_deep(body: bytes) -> bool:
    """Whether brackets outside strings nest (or stay open) beyond MAX_DEPTH, without recursion."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS).translate(_SQUARE)
    for _ in range(MAX_DEPTH):
        brackets = brackets.replace(b"[]", b"")  # each pass removes the innermost level
    # Left: pairs deeper than MAX_DEPTH, or brackets never closed (a parser recurses into those).
    return b"[]" in brackets or brackets.count(b"[") > MAX_DEPTH


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse(body: bytes) -> tuple[list, bool]:
    """The body's items and whether it was a single object, or BadRequest saying what is wrong."""
    if _too_deep(body):
        raise BadRequest(f"body is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, list | dict):
        raise BadRequest("body is not a feedback item or a list of them")
    items = value if isinstance(value, list) else [value]
    if not items or len(items) > MAX_ITEMS:
        raise BadRequest(f"send between 1 and {MAX_ITEMS} items per request")
    return items, isinstance(value, dict)


def check(items: list, single: bool, max_length: int) -> list[FeedbackRecord]:
    """Every item as a record, or BadRequest naming every bad item and field at once."""
    records, found = [], []
    for index, raw in enumerate(items):
        where = "" if single else str(index)
        if not isinstance(raw, dict):
            found.append(f"{where}: not a JSON object")
            continue
        try:
            record = FeedbackRecord.model_validate(raw)
        except ValidationError as exc:
            found.extend(describe(exc, where))
            continue
        records.append(record)
        reasons = problems(record.to_inbound(), max_length)
        found.extend(f"{where}: {reason}" if where else reason for reason in reasons)
    if found:
        raise BadRequest("some items are not valid feedback items; nothing was stored", found)
    return records


def register(app: web.Application, core: Upside) -> None:
    """Add the webhook route to `app`. At most `webhook_concurrency` requests are stored at
    once; a few more may wait up to `QUEUE_SECONDS` for a slot (a busy database's short
    pauses), and past that the sender is told to retry: the queue never grows without bound."""
    slots = asyncio.Semaphore(core.settings.webhook_concurrency)
    waiting = 0

    def store(body: bytes) -> web.Response:
        # In a thread: parsing a few megabytes must not hold up Slack's and Teams' acks.
        try:
            records = check(*parse(body), max_length=core.settings.max_text_length)
        except BadRequest as exc:
            return _error(400, str(exc), exc.details)
        report = core.ingest([record.to_inbound() for record in records])
        return web.json_response(
            {
                "accepted": report.count("accepted"),
                "duplicates": report.count("duplicate"),
                "items": [{"id": r.id, "status": r.outcome} for r in report.results],
            },
            status=202,
        )

    def shed() -> web.Response:
        response = _error(503, "too many requests at once; try again shortly")
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    async def receive(request: web.Request) -> web.Response:
        nonlocal waiting
        token = core.settings.webhook_token
        if token is None or not _authorised(request, token.get_secret_value()):
            return _error(401, "missing or wrong bearer token")
        if not _json_content(request):
            return _error(415, f"send application/json, not {request.content_type}")
        body = await request.read()
        if waiting >= QUEUE_DEPTH * core.settings.webhook_concurrency:
            return shed()
        waiting += 1
        try:
            await asyncio.wait_for(slots.acquire(), QUEUE_SECONDS)
        except TimeoutError:
            return shed()
        finally:
            waiting -= 1
        try:
            return await asyncio.to_thread(store, body)
        finally:
            slots.release()

    app.router.add_post("/api/feedback", receive)
