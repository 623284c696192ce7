"""Three-class sentiment from probabilities, and the seed set with its logistic head.

The shipped model (`classifiers.sentiment_model`) gives calibrated probabilities itself;
another model configured with UPSIDE_MODEL_DIR gets a logistic regression fitted on the
seed set over its sentence embeddings.
"""

from __future__ import annotations

import csv
import hashlib
from importlib.resources import files
from pathlib import Path

import numpy as np

from classifiers.types import SENTIMENTS, Sentiment

SEED_FILE = files("classifiers") / "data" / "sentiment_seed.csv"


def read_labelled(path: Path | str, label_column: str = "label") -> list[tuple[str, str]]:
    """Rows of a `text,<label_column>` CSV file as (text, label) pairs."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [(row["text"], row[label_column]) for row in csv.DictReader(handle)]


def labels_of(probabilities: np.ndarray) -> list[tuple[Sentiment, float, float]]:
    """Label, score (P(positive) - P(negative), in [-1, 1]) and confidence per row.

    Probabilities are rounded to 4 places first, so float noise in the last bits never
    changes what is stored.
    """
    rounded = np.round(probabilities.astype(np.float64), 4)
    best = rounded.argmax(axis=1)
    scores = rounded[:, 2] - rounded[:, 0]
    confidence = rounded[np.arange(len(rounded)), best]
    return [
        (SENTIMENTS[i], round(float(s), 4), float(c))
        for i, s, c in zip(best, scores, confidence, strict=True)
    ]


class SentimentHead:
    """A logistic regression over sentence embeddings of the seed set (for other models)."""

    def __init__(self, embeddings: np.ndarray, labels: list[str], fingerprint: str) -> None:
        from sklearn.linear_model import LogisticRegression

        unknown = set(labels) - set(SENTIMENTS)
        if unknown:
            raise ValueError(f"unknown sentiment labels: {sorted(unknown)}")
        self.model = LogisticRegression(C=2.0, max_iter=2000)
        self.model.fit(embeddings, labels)
        self._columns = [list(self.model.classes_).index(s) for s in SENTIMENTS]
        self.version = f"sentiment-{fingerprint}"

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """P(negative), P(neutral), P(positive) per embedding."""
        return self.model.predict_proba(embeddings)[:, self._columns]


def seed_fingerprint(rows: list[tuple[str, str]]) -> str:
    """A short hash of the seed set, so the model version changes when the seed does."""
    digest = hashlib.sha256("\n".join(f"{text}\t{label}" for text, label in rows).encode())
    return digest.hexdigest()[:8]
