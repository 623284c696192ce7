"""Why the classifier keeps onnxruntime's SkipLayerNormFusion off: the shipped model both ways.

    make bench-fusions        (or: .venv/bin/python bench/fusions.py)

The same graph, on realistic texts (TweetEval test posts) in the worker's batches, once as
`classifiers.encoder.OnnxModel` loads it (the fusion off) and once with every fusion on,
taking turns batch by batch as bench/speed.py does. Run it again after upgrading
onnxruntime: once its fused kernel is the faster, `classifiers.encoder.UNFUSED` should go.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import numpy as np

from bench.shared_data import tweeteval
from bench.speed import TEXTS, WORKER_BATCH, throughput
from classifiers.encoder import UNFUSED, OnnxModel, bundled_model_dir
from classifiers.pin import MODEL_FILE


def main() -> None:
    texts = [t for t, _ in tweeteval("test")][:TEXTS]
    tokenizer = bundled_model_dir() / "tokenizer.json"
    models = {
        f"{', '.join(UNFUSED)} off (as shipped)": OnnxModel(tokenizer, MODEL_FILE),
        "every fusion on": OnnxModel(tokenizer, MODEL_FILE, unfused=[]),
    }
    rates = throughput({name: model.run for name, model in models.items()}, texts)
    shipped, other = (model.run(texts) for model in models.values())
    baseline = rates["every fusion on"]
    print(f"{MODEL_FILE.name}, {len(texts):,} TweetEval posts, batches of {WORKER_BATCH}")
    for name, rate in rates.items():
        print(f"{name:44} {rate:8,.1f} msg/s {rate / baseline:6.2f}x")
    agree = float((shipped[1].argmax(axis=1) == other[1].argmax(axis=1)).mean())
    largest = float(np.abs(shipped[1] - other[1]).max())
    print(f"same label {agree:.2%}; largest probability difference {largest:.5f}")


if __name__ == "__main__":
    main()
