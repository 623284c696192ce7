"""Resident memory of a serving process after it has classified 10,000 items.

    .venv/bin/python bench/memory.py [--items N] [--model today|Upside]

A fresh process imports what `upside serve` imports (the web app, the Slack and Teams
adapters), loads the classifier as the core does, sets the starter topics, and
classifies N realistic texts (TweetEval test posts) in the worker's batches. It prints
its resident memory then (VmRSS) and at its peak (VmHWM); the target is 300 MB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
TARGET_MB = 300

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import bot.cli.main, bot.cli.wiring, bot.server  # what `upside serve` has imported
from bench.shared_data import tweeteval
from bot.config import Settings
from bot.intake.topics import read_topics_file
from classifiers import Classifier, TopicSpec
from classifiers.encoder import bundled_model_dir

settings = Settings()
model = None if {model!r} == "Upside" else str(bundled_model_dir())
classifier = Classifier.load(model, settings.topic_threshold, settings.quantize, settings.cache_dir)
topics = read_topics_file().topics
classifier.set_topics([TopicSpec(t.name, t.description, tuple(t.examples)) for t in topics])
texts = [text for text, _ in tweeteval("test")]
texts = (texts * (1 + {items} // len(texts)))[:{items}]
for start in range(0, len(texts), settings.batch_size):
    classifier.classify(texts[start : start + settings.batch_size])
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({{k: int(status[k].split()[0]) // 1024 for k in ("VmRSS", "VmHWM")}}))
"""


def measure(model: str, items: int) -> dict[str, int]:
    """VmRSS and VmHWM in MB of a fresh serving-like process."""
    output = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT), model=model, items=items)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument(
        "--model", choices=["today", "Upside"], nargs="*", default=["today", "Upside"]
    )
    args = parser.parse_args()
    print(f"a serving process after classifying {args.items:,} items (TweetEval posts)")
    print(f"{'model':8} {'resident MB':>12} {'peak MB':>8} {'target':>7}  met")
    for model in args.model:
        figures = measure(model, args.items)
        met = "yes" if figures["VmRSS"] <= TARGET_MB else "NO"
        print(f"{model:8} {figures['VmRSS']:12,} {figures['VmHWM']:8,} {'<= 300':>7}  {met}")


if __name__ == "__main__":
    main()
