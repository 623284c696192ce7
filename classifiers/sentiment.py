"""Three-class sentiment: a logistic regression over sentence embeddings of a seed set."""

from __future__ import annotations

import csv
import hashlib
from importlib.resources import files
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from classifiers.types import SENTIMENTS, Sentiment

SEED_FILE = files("classifiers") / "data" / "sentiment_seed.csv"


def read_labelled(path: Path | str, label_column: str = "label") -> list[tuple[str, str]]:
    """Rows of a `text,<label_column>` CSV file as (text, label) pairs."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [(row["text"], row[label_column]) for row in csv.DictReader(handle)]


class SentimentHead:
    """Negative / neutral / positive with a signed score, fitted on labelled embeddings."""

    def __init__(self, embeddings: np.ndarray, labels: list[str], fingerprint: str) -> None:
        unknown = set(labels) - set(SENTIMENTS)
        if unknown:
            raise ValueError(f"unknown sentiment labels: {sorted(unknown)}")
        self.model = LogisticRegression(C=2.0, max_iter=2000)
        self.model.fit(embeddings, labels)
        self._columns = [list(self.model.classes_).index(s) for s in SENTIMENTS]
        self.version = f"sentiment-{fingerprint}"

    def predict(self, embeddings: np.ndarray) -> list[tuple[Sentiment, float]]:
        """Label and score (P(positive) - P(negative), in [-1, 1]) per embedding."""
        probabilities = self.model.predict_proba(embeddings)[:, self._columns]
        best = probabilities.argmax(axis=1)
        scores = probabilities[:, 2] - probabilities[:, 0]
        return [(SENTIMENTS[i], float(s)) for i, s in zip(best, scores, strict=True)]


def seed_fingerprint(rows: list[tuple[str, str]]) -> str:
    """A short hash of the seed set, so the model version changes when the seed does."""
    digest = hashlib.sha256("\n".join(f"{text}\t{label}" for text, label in rows).encode())
    return digest.hexdigest()[:8]
