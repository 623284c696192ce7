"""Local sentiment, topic and language classification; the core uses only what is exported here.

Importing the package is cheap: `Classifier` and `ModelError` are imported on first use,
and `Classifier.load` imports the model stack (onnxruntime, tokenizers, the language
detector), so commands that never classify start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from classifiers.pin import SURE_CONFIDENCE
from classifiers.types import (
    READABLE_LANGUAGES,
    SENTIMENTS,
    UNDETERMINED_LANGUAGE,
    Classification,
    Sentiment,
    TopicSpec,
)

if TYPE_CHECKING:
    from classifiers.encoder import ModelError
    from classifiers.model import Classifier

__all__ = [
    "READABLE_LANGUAGES",
    "SENTIMENTS",
    "SURE_CONFIDENCE",
    "UNDETERMINED_LANGUAGE",
    "Classification",
    "Classifier",
    "ModelError",
    "Sentiment",
    "TopicSpec",
]


def __getattr__(name: str) -> object:
    """`Classifier` and `ModelError`, imported when first asked for (they bring numpy)."""
    if name == "Classifier":
        from classifiers.model import Classifier

        return Classifier
    if name == "ModelError":
        from classifiers.encoder import ModelError

        return ModelError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
