"""Evaluation of the classifier on labelled CSV files: the figures users judge the model by."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from classifiers.model import Classifier
from classifiers.types import SENTIMENTS

NO_TOPIC = "(none)"
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.0, 0.61, 0.05))


@dataclass(frozen=True, slots=True)
class ClassScore:
    """Precision, recall and F1 of one label, with its number of true items."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class ThresholdPoint:
    """At one confidence threshold: share of items given a topic and accuracy on those."""

    threshold: float
    coverage: float
    accuracy_on_covered: float
    accuracy: float


@dataclass(slots=True)
class Report:
    """The evaluation's figures; `as_json()` is the stable machine-readable form."""

    task: str
    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassScore]
    labels: list[str]
    confusion: list[list[int]]
    messages_per_second: float
    model_version: str
    thresholds: list[ThresholdPoint] = field(default_factory=list)
    threshold: float | None = None

    def as_json(self) -> dict:
        """A plain dict with at least n, accuracy, macro_f1, per_class, messages_per_second."""
        return asdict(self)


def _score(
    task: str,
    gold: Sequence[str],
    predicted: Sequence[str],
    labels: list[str],
    seconds: float,
    version: str,
) -> Report:
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    # Macro-F1 over the true classes only: a prediction outside them (neutral on a
    # two-class set, no topic) counts as an error, never as a class of its own.
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    present = [i for i, s in enumerate(support) if s]
    shown = labels + sorted(set(predicted) - set(labels))
    return Report(
        task=task,
        n=len(gold),
        accuracy=float(accuracy_score(gold, predicted)),
        macro_f1=float(np.mean(f1[present])) if present else 0.0,
        per_class={
            label: ClassScore(float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
            for i, label in enumerate(labels)
        },
        labels=shown,
        confusion=confusion_matrix(gold, predicted, labels=shown).tolist(),
        messages_per_second=len(gold) / seconds if seconds else 0.0,
        model_version=version,
    )


def evaluate_sentiment(classifier: Classifier, rows: list[tuple[str, str]]) -> Report:
    """Score sentiment on (text, label) rows; labels outside negative/neutral/positive fail."""
    unknown = {label for _, label in rows} - set(SENTIMENTS)
    if unknown:
        raise ValueError(f"unknown sentiment labels: {', '.join(sorted(unknown))}")
    texts = [text for text, _ in rows]
    started = time.perf_counter()
    results = classifier.classify(texts)
    seconds = time.perf_counter() - started
    gold = [label for _, label in rows]
    labels = [s for s in SENTIMENTS if s in set(gold)]
    predicted = [r.sentiment for r in results]
    return _score("sentiment", gold, predicted, labels, seconds, classifier.version)


def evaluate_topics(classifier: Classifier, rows: list[tuple[str, str]]) -> Report:
    """Score topics on (text, topic) rows at the classifier's threshold, and sweep thresholds.

    An empty topic means the item belongs to no topic, and is right when none is given.
    """
    texts = [text for text, _ in rows]
    started = time.perf_counter()
    results = classifier.classify(texts, threshold=0.0)  # the best topic, thresholded below
    seconds = time.perf_counter() - started
    gold = [topic.strip() or NO_TOPIC for _, topic in rows]
    best = np.array([r.topic or NO_TOPIC for r in results], dtype=object)
    confidence = np.array([r.topic_confidence for r in results])
    predicted = _at(best, confidence, classifier.threshold)
    report = _score("topics", gold, predicted, sorted(set(gold)), seconds, classifier.version)
    report.threshold = classifier.threshold
    report.thresholds = [
        _point(np.array(gold, dtype=object), best, confidence, t) for t in THRESHOLDS
    ]
    return report


def _at(best: np.ndarray, confidence: np.ndarray, threshold: float) -> list[str]:
    return [b if c >= threshold else NO_TOPIC for b, c in zip(best, confidence, strict=True)]


def _point(
    gold: np.ndarray, best: np.ndarray, confidence: np.ndarray, threshold: float
) -> ThresholdPoint:
    covered = confidence >= threshold
    predicted = np.array(_at(best, confidence, threshold), dtype=object)
    right = predicted == gold
    return ThresholdPoint(
        threshold=threshold,
        coverage=float(covered.mean()) if len(gold) else 0.0,
        accuracy_on_covered=float(right[covered].mean()) if covered.any() else 0.0,
        accuracy=float(right.mean()) if len(gold) else 0.0,
    )
