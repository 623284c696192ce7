"""The aiohttp application: health, the classification worker, and whatever adapters add."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot import db
from bot.core import Upside
from bot.intake.worker import STOP_GRACE
from bot.models import ProcessedEvent, utcnow

CORE = web.AppKey("core", Upside)
CLASSIFIES = web.AppKey("classifies", bool)  # False: web only, workers elsewhere classify
RETRY_AFTER = "5"  # seconds a client should wait after a 503 caused by the database
log = logging.getLogger(__name__)


def create_app(core: Upside, classify: bool = True) -> web.Application:
    """The web app with `/healthz` and (unless `classify` is False) the background worker;
    adapters register routes on it."""
    app = web.Application(client_max_size=4 * 1024 * 1024, middlewares=[_database_errors])
    app[CORE] = core
    app.router.add_get("/healthz", _health)
    app[CLASSIFIES] = classify
    if classify:
        app.cleanup_ctx.append(_worker)
    return app


async def _worker(app: web.Application) -> AsyncIterator[None]:
    core = app[CORE]
    worker = await asyncio.to_thread(lambda: core.worker)  # loads the model off the event loop
    task = asyncio.create_task(worker.run_forever(core.settings.worker_interval))
    yield
    worker.stop()  # on SIGTERM: take no more work and finish the batch in hand
    await asyncio.wait([task], timeout=STOP_GRACE)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _database_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A database that is down, full or read-only is a JSON 503 to retry, never a bare 500."""
    try:
        return await handler(request)
    except (DBAPIError, PoolTimeout) as exc:
        log.warning("database error on %s %s: %s", request.method, request.path, exc)
        return web.json_response(
            {"error": "the database is unavailable; try again later"},
            status=503,
            headers={"Retry-After": RETRY_AFTER},
        )


def _writable(engine: Engine) -> bool:
    """Whether a committed write succeeds (a probe row, deleted in the same transaction)."""
    probe = f"healthz:{uuid.uuid4().hex}"
    try:
        with engine.begin() as connection:
            connection.execute(insert(ProcessedEvent).values(event_id=probe, received_at=utcnow()))
            connection.execute(delete(ProcessedEvent).where(ProcessedEvent.event_id == probe))
        return True
    except Exception:
        return False


async def _health(request: web.Request) -> web.Response:
    core = request.app[CORE]
    reachable = await asyncio.to_thread(db.ping, core.engine)
    writable = reachable and await asyncio.to_thread(_writable, core.engine)
    model = core.model_ready or not request.app[CLASSIFIES]  # a web-only process needs none
    healthy = writable and model
    body = {
        "status": "ok" if healthy else "degraded" if reachable and model else "unavailable",
        "database": "ok" if writable else "not writable" if reachable else "unreachable",
        "model": core.classifier.version if core.model_ready else "unused" if model else "loading",
    }
    return web.json_response(body, status=200 if healthy else 503)
