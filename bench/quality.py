"""Classifier quality against the issue's targets, fp32 and int8 side by side.

    .venv/bin/python bench/quality.py

Sentiment: macro-F1 on the 3,000 review sentences (neutral counts as wrong).
Topics: Banking77 test accuracy with name + description only, and with k = 5
examples per topic (random draws, mean of 5 seeds; and representative picks).
"""

from __future__ import annotations

import statistics
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench.shared_data import (
    BANKING_TOPICS,
    banking,
    random_examples,
    representative_examples,
    review_sentences,
)
from classifiers import Classifier, TopicSpec
from classifiers.evaluate import evaluate_sentiment, evaluate_topics

SEEDS = range(5)


def topics_with(examples: dict[str, list[str]] | None) -> list[TopicSpec]:
    """The Banking77 topics, with or without example phrases."""
    described = tomllib.loads(BANKING_TOPICS.read_text(encoding="utf-8"))["topics"]
    return [
        TopicSpec(t["name"], t["description"], tuple((examples or {}).get(t["name"], ())))
        for t in described
    ]


def measure(classifier: Classifier) -> dict[str, float]:
    """Every quality figure for one classifier."""
    figures = {"sentiment macro-F1": evaluate_sentiment(classifier, review_sentences()).macro_f1}
    test = banking("test")
    classifier.set_topics(topics_with(None))
    zero = evaluate_topics(classifier, test)
    figures["topics accuracy, name + description"] = zero.accuracy
    random_runs = []
    for seed in SEEDS:
        classifier.set_topics(topics_with(random_examples(5, seed)))
        random_runs.append(evaluate_topics(classifier, test).accuracy)
    figures["topics accuracy, k=5 random (mean of 5)"] = statistics.mean(random_runs)
    figures["topics accuracy, k=5 random (worst of 5)"] = min(random_runs)
    picks = representative_examples(5, classifier.encoder.encode)
    classifier.set_topics(topics_with(picks))
    figures["topics accuracy, k=5 representative"] = evaluate_topics(classifier, test).accuracy
    return figures


TARGETS = {
    "sentiment macro-F1": 0.85,
    "topics accuracy, name + description": 0.70,
    "topics accuracy, k=5 random (mean of 5)": 0.85,
    "topics accuracy, k=5 representative": 0.85,
}


def main() -> None:
    fp32 = measure(Classifier.load(quantize=False))
    int8 = measure(Classifier.load(quantize=True))
    print(f"{'figure':44} {'fp32':>7} {'int8':>7} {'Δ pts':>6} {'target':>7}  int8 meets")
    for name, value in fp32.items():
        target = TARGETS.get(name)
        delta = (int8[name] - value) * 100
        verdict = ("yes" if int8[name] >= target else "NO") if target else ""
        target_text = f"{target:.2f}" if target else ""
        print(f"{name:44} {value:7.3f} {int8[name]:7.3f} {delta:+6.1f} {target_text:>7}  {verdict}")


if __name__ == "__main__":
    main()
