"""Classifier quality against the targets: Upside's own model beside today's, in one run.

    make bench-quality        (or: .venv/bin/python bench/quality.py)

"today" is the previous default: all-MiniLM-L6-v2 with dynamic int8 weights and a
logistic sentiment head fitted on the seed set (UPSIDE_MODEL_DIR pointing at the
bundled model still gives it). "Upside" is the shipped model (classifiers/data/).

Sentiment: TweetEval sentiment test.csv (public posts, three classes): macro-F1,
accuracy, neutral recall, the share of complaints called positive, and how often a sure
cheer or jeer (`Classifier.sure`) is right or of the opposite feeling; the 3,000 review
sentences (two classes, neutral counts as wrong). Topics: Banking77 test accuracy with
name + description only, and with k = 5 examples per topic (random draws, mean and
worst of 5 seeds; and representative picks).
"""

from __future__ import annotations

import statistics
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from bench.shared_data import (
    BANKING_TOPICS,
    banking,
    random_examples,
    representative_examples,
    review_sentences,
    tweeteval,
)
from classifiers import Classifier, TopicSpec
from classifiers.encoder import bundled_model_dir
from classifiers.evaluate import evaluate_sentiment, evaluate_topics

SEEDS = range(5)
TARGETS = {
    "TweetEval test macro-F1": 0.62,
    "TweetEval test accuracy": 0.62,
    "review sentences macro-F1 (neutral wrong)": 0.90,
    "Banking77 name + description": 0.75,
    "Banking77 k=5 random (mean of 5)": 0.83,
}


def topics_with(examples: dict[str, list[str]] | None) -> list[TopicSpec]:
    """The Banking77 topics, with or without example phrases."""
    described = tomllib.loads(BANKING_TOPICS.read_text(encoding="utf-8"))["topics"]
    return [
        TopicSpec(t["name"], t["description"], tuple((examples or {}).get(t["name"], ())))
        for t in described
    ]


def sentiment_figures(classifier: Classifier) -> dict[str, float]:
    """TweetEval test and review sentence figures for one classifier."""
    rows = tweeteval("test")
    results = classifier.classify([text for text, _ in rows])
    gold = [label for _, label in rows]
    report = evaluate_sentiment(classifier, rows)
    negatives = [r for r, g in zip(results, gold, strict=True) if g == "negative"]
    sure = [
        (r.sentiment, g)
        for r, g in zip(results, gold, strict=True)
        if r.sentiment != "neutral" and Classifier.sure(r)
    ]
    right = sum(label == g for label, g in sure)
    opposite = sum({label, g} == {"negative", "positive"} for label, g in sure)
    polar = sum(g != "neutral" for g in gold)
    return {
        "TweetEval test macro-F1": report.macro_f1,
        "TweetEval test accuracy": report.accuracy,
        "TweetEval neutral recall": report.per_class["neutral"].recall,
        "TweetEval complaints called positive": sum(r.sentiment == "positive" for r in negatives)
        / len(negatives),
        "TweetEval sure cheers/jeers: right": right / max(1, len(sure)),
        "TweetEval sure cheers/jeers: opposite feeling": opposite / max(1, len(sure)),
        "TweetEval sure cheers/jeers found (of all)": right / polar,
        "review sentences macro-F1 (neutral wrong)": evaluate_sentiment(
            classifier, review_sentences()
        ).macro_f1,
    }


def topic_figures(classifier: Classifier) -> dict[str, float]:
    """Banking77 test accuracy for one classifier."""
    test = banking("test")
    classifier.set_topics(topics_with(None))
    figures = {"Banking77 name + description": evaluate_topics(classifier, test).accuracy}
    runs = []
    for seed in SEEDS:
        classifier.set_topics(topics_with(random_examples(5, seed)))
        runs.append(evaluate_topics(classifier, test).accuracy)
    figures["Banking77 k=5 random (mean of 5)"] = statistics.mean(runs)
    figures["Banking77 k=5 random (worst of 5)"] = min(runs)
    classifier.set_topics(topics_with(representative_examples(5, classifier.embed)))
    figures["Banking77 k=5 representative"] = evaluate_topics(classifier, test).accuracy
    return figures


def today() -> Classifier:
    """The previous default: MiniLM, dynamic int8, logistic head on the seed set."""
    return Classifier.load(str(bundled_model_dir()), quantize=True)


def main() -> None:
    started = time.perf_counter()
    measured = {}
    for name, load in (("today", today), ("Upside", Classifier.load)):
        classifier = load()
        measured[name] = sentiment_figures(classifier) | topic_figures(classifier)
        print(f"measured {name} ({classifier.version})", file=sys.stderr, flush=True)
    print(f"{'figure':44} {'today':>7} {'Upside':>7} {'Δ pts':>6} {'target':>7}  Upside meets")
    for name, old in measured["today"].items():
        new = measured["Upside"][name]
        target = TARGETS.get(name)
        verdict = ("yes" if new >= target else "NO") if target else ""
        target_text = f"{target:.2f}" if target else ""
        print(
            f"{name:44} {old:7.3f} {new:7.3f} {(new - old) * 100:+6.1f} {target_text:>7}  {verdict}"
        )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
