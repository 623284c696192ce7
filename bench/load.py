"""Load and faults: `upside serve` and `upside worker` on loopback, driven at rising rates.

    make bench-load        (or: .venv/bin/python bench/load.py [--only sqlite|postgres]
                                                                [--scenario NAME ...])

Each scenario gets a fresh database (SQLite, and PostgreSQL when UPSIDE_BENCH_POSTGRES_URL,
by default the test server, answers) and fresh processes:

- webhook: single items at rising rates to the one-command `upside serve`.
- slack: signed Slack message events at rising rates to `upside serve --web-only` while
  one `upside worker` drains a backlog.
- workers: a backlog drained by one worker, then by two; then SIGTERM, timed.
- faults: webhook items and Slack events at a steady rate from senders that retry, while the
  web process and the worker are killed with SIGKILL and restarted and (PostgreSQL) every
  database connection is killed.

Every scenario prints accepted, stored, lost (accepted but not stored), doubled (stored
twice), classified twice (labels written twice, or claimed twice: work done twice), 5xx and
latency percentiles; the last lines check the acceptance figures. Slack's Web API is the
tests' local fake. About 4 minutes per database.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import aiohttp
from sqlalchemy import create_engine, text

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from adapters.slack.context import SOURCE as SLACK_SOURCE  # noqa: E402
from adapters.slack.context import external_id  # noqa: E402
from bench.postgres import postgres_database  # noqa: E402
from tests.fakes.signing import event_body, signed_headers  # noqa: E402
from tests.fakes.slack_api import BOT_TOKEN, TEAM_ID, FakeSlackAPI  # noqa: E402

TOKEN = "bench-load-token"
SECRET = "bench-signing-secret"
CHANNEL = "C0FEEDBACK"
WEBHOOK_RATES = (50, 100, 200, 400)  # items per second, each for SECONDS
SLACK_RATES = (50, 100, 200)  # events per second, each for SECONDS
SECONDS = 5
BACKLOG = 10_000  # items waiting when the workers start
DRAIN_SECONDS = 90  # the longest a scenario waits for the backlog (a killed worker's lease: 60)
SLACK_P99_TARGET_MS = 300.0  # at 100 events/s while a backlog drains
SAMPLES = (ROOT / "bot/data/sample_feedback.jsonl").read_text(encoding="utf-8").splitlines()
TEXTS = [words for line in SAMPLES if (words := json.loads(line)["text"].strip())]
Key = tuple[str, str]  # (source, external id): what the database stores once


@dataclass
class Tally:
    """What a sender saw: answers by status, latencies of accepted requests, keys accepted."""

    statuses: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    accepted: set[Key] = field(default_factory=set)
    retried: int = 0

    def add(self, other: Tally) -> None:
        self.statuses.update(other.statuses)
        self.latencies += other.latencies
        self.accepted |= other.accepted
        self.retried += other.retried

    @property
    def server_errors(self) -> int:
        """5xx answers other than 503, the overload and database-away answer."""
        return sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)


@dataclass(frozen=True)
class Shot:
    """One request a sender makes: where, what, the key it stores and the status that accepts."""

    url: str
    body: bytes
    headers: dict[str, str]
    key: Key
    accepted: int
    slack: bool = False


def webhook_item(base: str, prefix: str) -> Callable[[int], Shot]:
    """Single webhook items with ids `prefix-n` and the bundled sample texts."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def make(n: int) -> Shot:
        item = {"source": "bench", "id": f"{prefix}-{n}", "text": TEXTS[n % len(TEXTS)]}
        return Shot(
            f"{base}/api/feedback", json.dumps(item).encode(), headers, ("bench", item["id"]), 202
        )

    return make


def slack_message(base: str, series: int) -> Callable[[int], Shot]:
    """Message events in the feedback channel, each with its own ts and event id."""

    def make(n: int) -> Shot:
        ts = f"{1_800_000_000 + series}.{n:06d}"
        event = {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": "U0CUSTOMER",
            "text": TEXTS[n % len(TEXTS)],
            "ts": ts,
            "event_ts": ts,
        }
        body = event_body(event, event_id=f"Ev{series}x{n}").encode()
        key = (SLACK_SOURCE, external_id(TEAM_ID, CHANNEL, ts))
        return Shot(f"{base}/slack/events", body, {}, key, 200, slack=True)

    return make


async def send(session: aiohttp.ClientSession, shot: Shot, tally: Tally, tries: int) -> None:
    """POST `shot`, retrying a refusal or no answer as Slack and webhook senders do."""
    for attempt in range(tries):
        headers = dict(shot.headers)
        if shot.slack:
            headers |= signed_headers(shot.body, SECRET)
            if attempt:
                headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "timeout"}
        started = time.monotonic()
        try:
            async with session.post(shot.url, data=shot.body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0  # no answer
        tally.statuses[status] += 1
        if status == shot.accepted:
            tally.latencies.append(time.monotonic() - started)
            tally.accepted.add(shot.key)
            return
        if attempt + 1 < tries:
            tally.retried += 1
            await asyncio.sleep(1.0)


async def drive(makers: list[Callable[[int], Shot]], rate: int, seconds: float, tries: int = 1):
    """Each maker's requests at `rate` per second for `seconds`; one Tally per maker."""
    tallies = [Tally() for _ in makers]
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start, tasks = time.monotonic(), []
        for n in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            for make, tally in zip(makers, tallies, strict=True):
                tasks.append(asyncio.create_task(send(session, make(n), tally, tries)))
        await asyncio.gather(*tasks)
    return tallies


async def preload(base: str, count: int, prefix: str) -> set[Key]:
    """A backlog of `count` items, posted 1,000 to a request."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    keys: set[Key] = set()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for first in range(0, count, 1000):
            numbers = range(first, min(count, first + 1000))
            items = [
                {"source": "bench", "id": f"{prefix}-{n}", "text": TEXTS[n % len(TEXTS)]}
                for n in numbers
            ]
            async with session.post(f"{base}/api/feedback", json=items, headers=headers) as r:
                if r.status != 202:
                    raise RuntimeError(f"preload answered {r.status}: {await r.text()}")
            keys |= {("bench", item["id"]) for item in items}
    return keys


def percentile(values: list[float], share: float) -> float:
    """The `share` percentile of `values`, in milliseconds (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- the database: counting what was stored and labelled -------------------------------------

COUNTERS = {
    "sqlite": [
        "CREATE TABLE bench_label (item_id INTEGER)",
        "CREATE TABLE bench_claim (item_id INTEGER)",
        "CREATE TRIGGER bench_label AFTER UPDATE OF classified_at ON feedbackitem"
        " WHEN NEW.classified_at IS NOT NULL AND NEW.classified_at IS NOT OLD.classified_at"
        " BEGIN INSERT INTO bench_label VALUES (NEW.id); END",
        "CREATE TRIGGER bench_claim AFTER UPDATE OF claimed_by ON feedbackitem"
        " WHEN NEW.claimed_by IS NOT NULL BEGIN INSERT INTO bench_claim VALUES (NEW.id); END",
    ],
    "postgresql": [
        "CREATE TABLE bench_label (item_id integer)",
        "CREATE TABLE bench_claim (item_id integer)",
        "CREATE FUNCTION bench_label() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN INSERT INTO bench_label VALUES (NEW.id); RETURN NULL; END $$",
        "CREATE FUNCTION bench_claim() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN INSERT INTO bench_claim VALUES (NEW.id); RETURN NULL; END $$",
        "CREATE TRIGGER bench_label AFTER UPDATE OF classified_at ON feedbackitem FOR EACH ROW"
        " WHEN (NEW.classified_at IS NOT NULL"
        " AND NEW.classified_at IS DISTINCT FROM OLD.classified_at)"
        " EXECUTE FUNCTION bench_label()",
        "CREATE TRIGGER bench_claim AFTER UPDATE OF claimed_by ON feedbackitem FOR EACH ROW"
        " WHEN (NEW.claimed_by IS NOT NULL) EXECUTE FUNCTION bench_claim()",
    ],
}
TWICE = "SELECT count(*) FROM (SELECT 1 FROM {} GROUP BY {} HAVING count(*) > 1) AS twice"


@dataclass(frozen=True)
class Census:
    """What the database holds."""

    stored: set[Key]
    doubled: int  # (source, id) pairs stored more than once
    waiting: int  # items not yet classified
    labelled: int  # label writes
    labelled_twice: int  # items whose labels were written more than once
    claimed_twice: int  # items claimed more than once (classified, or begun, twice)


def census(url: str) -> Census:
    """Count what `url` holds."""
    engine = create_engine(url)
    with engine.connect() as db:

        def one(sql: str) -> int:
            return db.execute(text(sql)).scalar_one()

        rows = db.execute(text("SELECT source, external_id FROM feedbackitem")).all()
        result = Census(
            stored={(source, key) for source, key in rows},
            doubled=one(TWICE.format("feedbackitem", "source, external_id")),
            waiting=one("SELECT count(*) FROM feedbackitem WHERE classified_at IS NULL"),
            labelled=one("SELECT count(*) FROM bench_label"),
            labelled_twice=one(TWICE.format("bench_label", "item_id")),
            claimed_twice=one(TWICE.format("bench_claim", "item_id")),
        )
    engine.dispose()
    return result


def kill_connections(url: str) -> int:
    """Terminate every PostgreSQL connection to `url`'s database but this one."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        killed = db.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    engine.dispose()
    return killed


@contextmanager
def fresh_database(kind: str) -> Iterator[str | None]:
    """A new, empty database of `kind` ("sqlite" or "postgresql"), dropped afterwards; None
    when PostgreSQL does not answer."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'load.db'}"
    else:
        with postgres_database() as url:
            yield url


# --- processes --------------------------------------------------------------------------------


class Site:
    """One Upside installation on loopback: a web process and workers on one database."""

    def __init__(self, url: str, slack_api: str, logs: Path) -> None:
        self.url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logs = logs
        self.env = os.environ | {
            "PYTHONPATH": str(ROOT),
            "UPSIDE_DATABASE_URL": url,
            "UPSIDE_HOST": "127.0.0.1",
            "UPSIDE_PORT": str(self.port),
            "UPSIDE_WEBHOOK_TOKEN": TOKEN,
            "UPSIDE_SLACK_BOT_TOKEN": BOT_TOKEN,
            "UPSIDE_SLACK_SIGNING_SECRET": SECRET,
            "UPSIDE_SLACK_API_URL": slack_api,
            "UPSIDE_SLACK_FEEDBACK_CHANNELS": CHANNEL,
        }
        self.web: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self._serial = itertools.count()
        self._files: list[IO] = []
        self._logs: dict[int, Path] = {}  # process id -> its log
        init = self._run("init")
        if init.wait(60):
            raise RuntimeError(f"upside init failed: {self._logs[init.pid].read_text()[-2000:]}")
        engine = create_engine(url)
        with engine.begin() as db:
            for statement in COUNTERS[engine.dialect.name]:
                db.execute(text(statement))
        engine.dispose()

    def _run(self, *args: str) -> subprocess.Popen:
        path = self.logs / f"{args[0]}-{next(self._serial)}.log"
        log = path.open("w")
        self._files.append(log)
        command = [sys.executable, "-m", "bot.cli", *args]
        process = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=log)
        self._logs[process.pid] = path
        return process

    def says(self, process: subprocess.Popen, words: str) -> bool:
        """Whether `process` has logged `words`."""
        return words in self._logs[process.pid].read_text(errors="replace")

    async def start_web(self, *args: str) -> None:
        """`upside serve ARGS`, once `/healthz` says ok."""
        self.web = self._run("serve", *args)
        await wait_healthy(self.base)

    def start_worker(self) -> subprocess.Popen:
        """Another `upside worker`."""
        worker = self._run("worker")
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        """SIGTERM to every process, SIGKILL to any still running after 15 s."""
        processes = [p for p in (self.web, *self.workers) if p is not None]
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._files:
            log.close()


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def wait_healthy(base: str, seconds: float = 90) -> None:
    """Until `/healthz` says ok."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)
    raise RuntimeError(f"upside serve at {base} did not become healthy")


async def wait_for(check: Callable[[], bool], seconds: float) -> float:
    """Poll `check` every 0.5 s until it holds or `seconds` pass; the seconds it took."""
    started = time.monotonic()
    while not await asyncio.to_thread(check) and time.monotonic() - started < seconds:
        await asyncio.sleep(0.5)
    return time.monotonic() - started


# --- reporting --------------------------------------------------------------------------------

HEADER = f"{'':>22} {'sent':>6} {'ok':>6} {'503':>5} {'5xx':>4} {'none':>5}"
HEADER += f" {'p50 ms':>7} {'p95':>7} {'p99':>7}"


def row(name: str, tally: Tally) -> str:
    """One line of a rate table."""
    ok = len(tally.latencies)
    none = tally.statuses.get(0, 0)
    return (
        f"{name:>22} {sum(tally.statuses.values()):>6} {ok:>6} {tally.statuses.get(503, 0):>5}"
        f" {tally.server_errors:>4} {none:>5} {percentile(tally.latencies, 0.5):>7.0f}"
        f" {percentile(tally.latencies, 0.95):>7.0f} {percentile(tally.latencies, 0.99):>7.0f}"
    )


@dataclass
class Verdict:
    """The acceptance figures over every scenario run."""

    failures: list[str] = field(default_factory=list)

    def check(self, scenario: str, tally: Tally, found: Census) -> None:
        """Print the stored/lost/doubled line and remember any breach."""
        lost = len(tally.accepted - found.stored)
        print(
            f"accepted {len(tally.accepted)}, stored {len(found.stored)}, lost {lost},"
            f" doubled {found.doubled}, classified twice {found.labelled_twice}"
            f" (claimed twice {found.claimed_twice}), 5xx {tally.server_errors},"
            f" retried {tally.retried}, unclassified {found.waiting}"
        )
        figures = {
            "lost": lost,
            "doubled": found.doubled,
            "classified twice": found.labelled_twice,
            "5xx": tally.server_errors,
        }
        self.failures += [f"{scenario}: {name} {n}" for name, n in figures.items() if n]


# --- scenarios --------------------------------------------------------------------------------


async def webhook(site: Site, verdict: Verdict, scenario: str) -> None:
    """Single webhook items at rising rates to the one-command `upside serve`."""
    await site.start_web()
    print(f"{SECONDS} s at each rate, single items, one `upside serve`\n{HEADER}")
    total = Tally()
    for rate in WEBHOOK_RATES:
        [tally] = await drive([webhook_item(site.base, f"w{rate}")], rate, SECONDS)
        print(row(f"webhook {rate}/s", tally))
        total.add(tally)
    before = census(site.url).waiting
    took = await wait_for(lambda: census(site.url).waiting == 0, DRAIN_SECONDS)
    found = census(site.url)
    drained = before - found.waiting
    rate = drained / max(took, 0.5)
    print(f"drained the {drained} waiting after the load in {took:.0f} s ({rate:.0f}/s)")
    verdict.check(scenario, total, found)


async def slack(site: Site, verdict: Verdict, scenario: str) -> None:
    """Signed Slack events at rising rates to `serve --web-only` while a worker drains."""
    await site.start_web("--web-only")
    await preload(site.base, BACKLOG, "backlog")
    site.start_worker()
    await wait_for(lambda: census(site.url).labelled > 0, 90)
    print(f"{SECONDS} s at each rate, message events; `serve --web-only` + one worker\n{HEADER}")
    total = Tally()
    p99: dict[int, float] = {}
    for series, rate in enumerate(SLACK_RATES):
        labelled = census(site.url).labelled
        [tally] = await drive([slack_message(site.base, series)], rate, SECONDS)
        drained = census(site.url).labelled - labelled
        print(f"{row(f'slack {rate}/s', tally)}   (worker classified {drained} meanwhile)")
        p99[rate] = percentile(tally.latencies, 0.99)
        total.add(tally)
    found = census(site.url)
    verdict.check(scenario, total, found)
    if not p99[100] < SLACK_P99_TARGET_MS:
        verdict.failures.append(f"{scenario}: ack p99 {p99[100]:.0f} ms at 100 events/s")


async def workers(site: Site, verdict: Verdict, scenario: str) -> None:
    """A backlog drained by one worker, then another by two; then SIGTERM, timed."""
    await site.start_web("--web-only")
    keys, rates = set(), []
    for count in (1, 2):
        keys |= await preload(site.base, BACKLOG, f"backlog{count}")
        while len(site.workers) < count:
            site.start_worker()
        await wait_for(lambda: all(site.says(w, "is classifying") for w in site.workers), 90)
        rates.append(await drain_rate(site.url))
    one, two = rates
    print(
        f"drain: one worker {one:.0f} items/s, two workers {two:.0f} items/s"
        f" ({two / one:.2f}x; both share this machine's {os.cpu_count()} cores)"
    )
    started_at = time.monotonic()
    for worker in site.workers:
        worker.terminate()
    for worker in site.workers:
        worker.wait(30)
    print(f"SIGTERM to both workers: exited in {time.monotonic() - started_at:.1f} s")
    verdict.check(scenario, Tally(accepted=keys), census(site.url))


async def drain_rate(url: str) -> float:
    """Items labelled per second from now until nothing waits."""
    before = census(url).labelled
    took = await wait_for(lambda: census(url).waiting == 0, DRAIN_SECONDS)
    return (census(url).labelled - before) / took


async def faults(site: Site, verdict: Verdict, scenario: str) -> None:
    """Steady webhook and Slack traffic through SIGKILLs and (PostgreSQL) connection kills."""
    await site.start_web("--web-only")
    await preload(site.base, BACKLOG // 2, "backlog")
    site.start_worker()  # busy with the backlog when it is killed
    postgres = site.url.startswith("postgresql")
    rate, seconds = 40, 16
    print(f"{rate} webhook items/s and {rate} Slack events/s for {seconds} s, senders retry 3x:")
    load = asyncio.create_task(
        drive([webhook_item(site.base, "f"), slack_message(site.base, 9)], rate, seconds, 3)
    )
    await asyncio.sleep(3)
    assert site.web is not None
    site.web.kill()
    site.web.wait()
    print("  3 s: web process killed (SIGKILL) and restarted")
    await site.start_web("--web-only")
    await asyncio.sleep(max(0.0, 6 - 3))
    site.workers[0].kill()
    site.workers[0].wait()
    site.start_worker()
    print("  6 s: worker killed (SIGKILL) mid-batch and restarted")
    if postgres:
        for moment in (9, 12):
            await asyncio.sleep(3)
            print(f"  {moment} s: {kill_connections(site.url)} database connections killed")
    webhook_tally, slack_tally = await load
    print(HEADER)
    print(row("webhook", webhook_tally))
    print(row("slack", slack_tally))
    took = await wait_for(lambda: census(site.url).waiting == 0, DRAIN_SECONDS)
    print(f"backlog classified {took:.0f} s after the load (a killed worker's lease is 60 s)")
    webhook_tally.add(slack_tally)
    verdict.check(scenario, webhook_tally, census(site.url))


SCENARIOS = {"webhook": webhook, "slack": slack, "workers": workers, "faults": faults}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--scenario", choices=SCENARIOS, action="append")
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    verdict = Verdict()
    async with FakeSlackAPI() as fake:
        for kind in kinds:
            for name in args.scenario or SCENARIOS:
                with fresh_database(kind) as url, tempfile.TemporaryDirectory() as logs:
                    if url is None:
                        break  # PostgreSQL does not answer: SQLite only
                    print(f"\n== {kind}: {name}")
                    site = Site(url, fake.base_url, Path(logs))
                    try:
                        await SCENARIOS[name](site, verdict, f"{kind} {name}")
                    finally:
                        await asyncio.to_thread(site.stop)
    print()
    for failure in verdict.failures:
        print(f"NOT MET  {failure}")
    if not verdict.failures:
        print("met: nothing accepted was lost or stored twice, nothing classified twice, no 5xx;")
        print(f"    Slack ack p99 under {SLACK_P99_TARGET_MS:.0f} ms at 100 events/s")
    sys.exit(1 if verdict.failures else 0)


if __name__ == "__main__":
    asyncio.run(main())
