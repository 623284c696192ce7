"""`POST /api/feedback`: JSON feedback from any system that holds the bearer token."""

from __future__ import annotations

import asyncio
import hmac
import json

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from adapters.records import FeedbackRecord, describe
from bot.core import Upside
from bot.intake.ingest import validate

_BODY = TypeAdapter(FeedbackRecord | list[FeedbackRecord])
MAX_ITEMS = 1000


def _error(status: int, message: str, details: list[str] | None = None) -> web.Response:
    body: dict = {"error": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status)


def _authorised(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


def register(app: web.Application, core: Upside) -> None:
    """Add the webhook route to `app`."""

    async def receive(request: web.Request) -> web.Response:
        token = core.settings.webhook_token
        if token is None or not _authorised(request, token.get_secret_value()):
            return _error(401, "missing or wrong bearer token")
        try:
            parsed = _BODY.validate_python(json.loads(await request.read()))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        except ValidationError as exc:
            return _error(400, "body is not a feedback item or a list of them", describe(exc))
        records = parsed if isinstance(parsed, list) else [parsed]
        if not records or len(records) > MAX_ITEMS:
            return _error(400, f"send between 1 and {MAX_ITEMS} items per request")
        items = [record.to_inbound() for record in records]
        problems = [
            f"{index}: {reason}"
            for index, item in enumerate(items)
            if (reason := validate(item, core.settings.max_text_length))
        ]
        if problems:
            return _error(400, "some items are invalid; nothing was stored", problems)
        report = await asyncio.to_thread(core.ingest, items)
        results = [{"id": r.id, "status": r.outcome} for r in report.results]
        return web.json_response(
            {
                "accepted": report.count("accepted"),
                "duplicates": report.count("duplicate"),
                "items": results,
            },
            status=202,
        )

    app.router.add_post("/api/feedback", receive)
