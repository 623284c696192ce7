"""Local sentiment, topic and language classification; the core uses only what is exported here.

Importing the package is cheap: the model stack (onnxruntime, tokenizers, the language
detector, scikit-learn) is imported by `Classifier.load`, so commands that never
classify start fast.
"""

from classifiers.encoder import ModelError
from classifiers.model import Classifier
from classifiers.sentiment_model import SURE_CONFIDENCE
from classifiers.types import (
    READABLE_LANGUAGES,
    SENTIMENTS,
    UNDETERMINED_LANGUAGE,
    Classification,
    Sentiment,
    TopicSpec,
)

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
