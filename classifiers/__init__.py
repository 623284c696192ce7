"""Local sentiment and topic classification; the core uses only what is exported here."""

from classifiers.encoder import ModelError
from classifiers.model import Classifier
from classifiers.types import SENTIMENTS, Classification, Sentiment, TopicSpec

__all__ = ["SENTIMENTS", "Classification", "Classifier", "ModelError", "Sentiment", "TopicSpec"]
