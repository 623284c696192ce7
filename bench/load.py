"""Webhook load: `upside serve` on loopback, single items posted at rising rates.

    make bench-load        (or: .venv/bin/python bench/load.py)

Runs on SQLite, and on PostgreSQL when UPSIDE_BENCH_POSTGRES_URL (default: the test server)
answers. Prints, per rate: accepted (202), 503s, other answers, latency percentiles; then
stored, lost (accepted but not stored), doubled (stored twice) and the worker's drain rate.
Bounded: about a minute per database.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from subprocess import DEVNULL

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).parents[1]
RATES = (50, 100, 200, 400)  # requests per second, each for SECONDS
SECONDS = 5
DRAIN_SECONDS = 20
TOKEN = "bench-load-token"
POSTGRES_URL = os.environ.get(
    "UPSIDE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def upside(database_url: str, *args: str, port: int = 0) -> subprocess.Popen:
    """`upside ARGS` against `database_url`, listening on loopback only."""
    env = os.environ | {
        "UPSIDE_DATABASE_URL": database_url,
        "UPSIDE_WEBHOOK_TOKEN": TOKEN,
        "UPSIDE_HOST": "127.0.0.1",
        "UPSIDE_PORT": str(port or 8080),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-c", "from bot.cli import app; app()", *args]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=DEVNULL, stderr=DEVNULL)


async def wait_healthy(base: str, seconds: float = 60) -> None:
    """Until `/healthz` says ok (the model loads first)."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("upside serve did not become healthy")


async def post_at(base: str, rate: int, prefix: str) -> tuple[list[float], dict[int, int], set]:
    """POST one item every 1/rate s for SECONDS; latencies of 202s, counts by status, ids."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    accepted: set[str] = set()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(n: int) -> None:
            item = {"source": "bench", "id": f"{prefix}-{n}", "text": f"Parcel {n} came late."}
            started = time.monotonic()
            try:
                async with session.post(f"{base}/api/feedback", json=item, headers=headers) as r:
                    await r.read()
                    status = r.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0  # no answer
            statuses[status] = statuses.get(status, 0) + 1
            if status == 202:
                latencies.append(time.monotonic() - started)
                accepted.add(item["id"])

        start = time.monotonic()
        tasks = []
        for n in range(rate * SECONDS):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return latencies, statuses, accepted


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile of `values`, in milliseconds (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def backlog(database_url: str) -> tuple[set[str], int, int]:
    """Ids stored, rows not yet classified, and (source, id) pairs stored more than once."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = set(connection.execute(text("SELECT external_id FROM feedbackitem")).scalars())
        waiting = connection.execute(
            text("SELECT count(*) FROM feedbackitem WHERE classified_at IS NULL")
        ).scalar_one()
        doubled = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM feedbackitem"
                " GROUP BY source, external_id HAVING count(*) > 1) AS twice"
            )
        ).scalar_one()
    engine.dispose()
    return stored, waiting, doubled


async def run(name: str, database_url: str) -> None:
    """The rising-rate scenario against one database."""
    subprocess.run(
        [sys.executable, "-c", "from bot.cli import app; app()", "init"],
        env=os.environ | {"UPSIDE_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = upside(database_url, "serve", port=port)
    try:
        await wait_healthy(base)
        print(f"\n{name}: {SECONDS} s at each rate, single items")
        print(
            f"{'req/s':>6} {'202':>6} {'503':>6} {'other':>6} {'p50 ms':>8} {'p95':>8} {'p99':>8}"
        )
        accepted: set[str] = set()
        for rate in RATES:
            latencies, statuses, ids = await post_at(base, rate, f"r{rate}")
            accepted |= ids
            other = sum(count for status, count in statuses.items() if status not in {202, 503})
            print(
                f"{rate:>6} {statuses.get(202, 0):>6} {statuses.get(503, 0):>6} {other:>6}"
                f" {percentile(latencies, 0.5):>8.0f} {percentile(latencies, 0.95):>8.0f}"
                f" {percentile(latencies, 0.99):>8.0f}"
            )
        stored, waiting, doubled = backlog(database_url)
        before, started = waiting, time.monotonic()
        while waiting and time.monotonic() < started + DRAIN_SECONDS:
            await asyncio.sleep(1)
            _, waiting, _ = backlog(database_url)
        elapsed = time.monotonic() - started
        print(
            f"accepted {len(accepted)}, stored {len(stored)}, lost {len(accepted - stored)},"
            f" doubled {doubled}; drain {(before - waiting) / max(elapsed, 1):.0f} items/s"
            f" ({before} waiting, {waiting} left after {elapsed:.0f} s)"
        )
    finally:
        server.terminate()
        server.wait(30)


def postgres_database() -> str | None:
    """A fresh database on the bench PostgreSQL server, or None when it is unreachable."""
    try:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        name = f"upside_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # the bench runs on SQLite alone without PostgreSQL
        print(f"PostgreSQL not reachable ({type(exc).__name__}): SQLite only")
        return None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def drop(database_url: str) -> None:
    """Drop the bench's PostgreSQL database."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(database_url).database}"'))
    admin.dispose()


def main() -> None:
    """SQLite, then PostgreSQL when reachable."""
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(run("SQLite", f"sqlite:///{Path(directory) / 'load.db'}"))
    postgres = postgres_database()
    if postgres:
        try:
            asyncio.run(run("PostgreSQL", postgres))
        finally:
            drop(postgres)


if __name__ == "__main__":
    main()
