"""The aiohttp application: health, the classification worker, and whatever adapters add."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from bot import db
from bot.core import Upside

CORE = web.AppKey("core", Upside)


def create_app(core: Upside) -> web.Application:
    """The web app with `/healthz` and the background worker; adapters register routes on it."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[CORE] = core
    app.router.add_get("/healthz", _health)
    app.cleanup_ctx.append(_worker)
    return app


async def _worker(app: web.Application) -> AsyncIterator[None]:
    core = app[CORE]
    worker = await asyncio.to_thread(lambda: core.worker)  # loads the model off the event loop
    task = asyncio.create_task(worker.run_forever(core.settings.worker_interval))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _health(request: web.Request) -> web.Response:
    core = request.app[CORE]
    database = await asyncio.to_thread(db.ping, core.engine)
    model = core.model_ready
    body = {
        "status": "ok" if database and model else "unavailable",
        "database": "ok" if database else "unreachable",
        "model": core.classifier.version if model else "loading",
    }
    return web.json_response(body, status=200 if database and model else 503)
