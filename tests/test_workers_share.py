"""Workers apart from the web process: several share one backlog through row claims, and a
worker or server told to stop (SIGTERM) hands its backlog back within seconds."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import insert
from sqlmodel import func, select

from bot.core import Upside
from bot.models import FeedbackItem, utcnow
from bot.ports import InboundFeedback
from bot.server import create_app
from classifiers import Classification, Classifier, TopicSpec
from tests.conftest import eventually, make_core, make_settings

ROOT = Path(__file__).parents[1]


class Recording:
    """The real classifier, noting which texts one worker gave it; one call at a time,
    since the shared model's tokenizer is not made for concurrent use."""

    def __init__(self, model: Classifier, lock: threading.Lock) -> None:
        self.model, self.lock, self.texts = model, lock, []

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        with self.lock:
            self.texts.extend(texts)
            time.sleep(0.005)  # long enough for the other worker to claim meanwhile
            return self.model.classify(texts)

    def set_topics(self, specs: list[TopicSpec]) -> None:
        with self.lock:
            self.model.set_topics(specs)


def _backlog(core: Upside, count: int) -> list[str]:
    texts = [f"Parcel {n} arrived late and the courier was rude" for n in range(count)]
    core.ingest(InboundFeedback("test", str(n), text) for n, text in enumerate(texts))
    return texts


def test_two_workers_share_the_backlog_and_classify_each_item_once(database_url, classifier):
    seeded = make_core(database_url, classifier)
    texts = _backlog(seeded, 150)
    lock = threading.Lock()
    workers = []
    for _ in range(2):  # two "processes": their own engines and connection pools
        core = Upside(make_settings(database_url, batch_size=8), classifier=classifier)
        worker = core.worker
        worker.classifier = Recording(classifier, lock)
        workers.append(worker)
    start, done = threading.Barrier(2), [0, 0]

    def work(index: int) -> None:
        start.wait()
        done[index] = workers[index].run_pending()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    seen = Counter(text for worker in workers for text in worker.classifier.texts)
    assert seen == Counter(texts)  # every item classified, none twice
    assert all(worker.classifier.texts for worker in workers)  # and both did work
    assert sum(done) == len(texts)
    with seeded.session() as session:
        left = session.exec(
            select(func.count()).where(
                FeedbackItem.classified_at.is_(None) | FeedbackItem.claimed_by.is_not(None)
            )
        ).one()
    assert left == 0  # all labelled, every claim released
    for engine in [seeded.engine, *(worker.engine for worker in workers)]:
        engine.dispose()


def _classified(core: Upside) -> int:
    with core.session() as session:
        query = select(func.count()).where(FeedbackItem.classified_at.is_not(None))
        return session.exec(query).one()


def _with_backlog(tmp_path: Path, classifier: Classifier, total: int) -> Upside:
    """A SQLite database with `total` unclassified items, stored directly (fast)."""
    core = make_core(f"sqlite:///{tmp_path / 'upside.db'}", classifier, batch_size=32)
    with core.session() as session:
        now, texts = utcnow(), [f"Parcel {n} is late" for n in range(total)]
        rows = [{"external_id": str(n), "text": t, "display_text": t} for n, t in enumerate(texts)]
        session.execute(
            insert(FeedbackItem).values(source="test", created_at=now, received_at=now), rows
        )
    return core


def _claimed(core: Upside) -> int:
    with core.session() as session:
        return session.exec(select(func.count()).where(FeedbackItem.claimed_by.is_not(None))).one()


@pytest.mark.parametrize("command", ["worker", "serve"])
def test_sigterm_hands_the_backlog_back_within_ten_seconds(tmp_path, classifier, command):
    total = 3000
    core = _with_backlog(tmp_path, classifier, total)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "UPSIDE_DATABASE_URL": core.settings.database_url,
        "UPSIDE_BATCH_SIZE": "32",
        "UPSIDE_HOST": "127.0.0.1",
        "UPSIDE_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90  # the import and the model take a while on a busy box
        while _classified(core) == 0:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, f"{command} classified nothing in 90 s"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        code = process.wait(timeout=30)
        took = time.monotonic() - sent
    finally:
        process.kill()
        process.wait()
    assert code == 0, process.stderr.read().decode()
    assert took < 10
    assert 0 < _classified(core) < total  # it stopped taking work instead of draining it all
    assert _claimed(core) == 0  # and held nothing back from the next worker
    core.engine.dispose()


async def test_a_stopping_server_stops_classifying_and_releases_its_claims(tmp_path, classifier):
    """What `upside serve` does on SIGTERM: aiohttp runs the app's cleanup contexts."""
    total = 3000
    core = _with_backlog(tmp_path, classifier, total)
    runner = web.AppRunner(create_app(core))
    await runner.setup()  # starts the background worker
    assert await eventually(lambda: _classified(core) > 0, seconds=30)
    sent = time.monotonic()
    await runner.cleanup()
    assert time.monotonic() - sent < 10
    stopped_at = _classified(core)
    await asyncio.sleep(0.5)
    assert _classified(core) == stopped_at < total  # nothing classifies after the stop
    assert _claimed(core) == 0
    core.engine.dispose()


async def test_the_one_process_server_answers_while_its_worker_classifies(tmp_path, classifier):
    """`upside serve` without --web-only: the model runs in a thread, never on the event loop,
    so no request waits as long as one batch takes to classify."""
    total = 6000
    core = _with_backlog(tmp_path, classifier, total)
    core.settings = core.settings.model_copy(update={"batch_size": 1024})
    started = time.monotonic()
    classifier.classify([f"Parcel {n} is late" for n in range(1024)])
    batch = time.monotonic() - started
    async with serving(create_app(core)) as base, ClientSession() as session:
        assert await eventually(lambda: _classified(core) > 0, seconds=30)
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
        slowest = 0.0  # the longest the event loop, which the app shares, was held
        for _ in range(100):
            started = time.monotonic()
            await asyncio.sleep(0.01)
            slowest = max(slowest, time.monotonic() - started - 0.01)
        assert _classified(core) < total  # the worker was classifying all along
    assert slowest < batch / 2
    core.engine.dispose()


async def test_a_web_only_server_classifies_nothing(tmp_path, classifier):
    core = _with_backlog(tmp_path, classifier, 10)
    async with serving(create_app(core, classify=False)) as base, ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
        await asyncio.sleep(core.settings.worker_interval * 3)
        assert _classified(core) == 0  # `upside worker` processes classify
    core.engine.dispose()


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` on a loopback port, as `upside serve` runs it; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", free_port())
    await site.start()
    try:
        yield site.name.rstrip("/")
    finally:
        await runner.cleanup()


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
