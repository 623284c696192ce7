"""The feedback classifier: one encoder pass, then the sentiment and topic heads."""

from __future__ import annotations

import threading
from pathlib import Path

from classifiers.encoder import BUNDLED_NAME, BUNDLED_SHA256, Encoder, bundled_model_dir, verify
from classifiers.sentiment import SEED_FILE, SentimentHead, read_labelled, seed_fingerprint
from classifiers.topics import TopicHead
from classifiers.types import Classification, TopicSpec


class Classifier:
    """Sentiment and topic for batches of texts.

    >>> clf = Classifier.load()
    >>> clf.set_topics([TopicSpec("Delivery", "parcels arriving late or damaged")])
    >>> clf.classify(["My parcel is a week late"])[0].topic
    'Delivery'
    """

    def __init__(self, encoder: Encoder, name: str, threshold: float) -> None:
        self.encoder = encoder
        self.threshold = threshold
        seed = read_labelled(str(SEED_FILE))
        texts = [text for text, _ in seed]
        self.sentiment = SentimentHead(
            self.encoder.encode(texts), [label for _, label in seed], seed_fingerprint(seed)
        )
        self.topics = TopicHead(self.encoder.encode)
        self.version = f"{name}/{self.sentiment.version}"
        self._lock = (
            threading.Lock()
        )  # onnxruntime sessions are thread-safe; the heads' swap is not

    @classmethod
    def load(cls, model_dir: str | None = None, threshold: float = 0.25) -> Classifier:
        """The bundled model (SHA-256 checked), or a Hugging Face model directory with ONNX."""
        if model_dir is None:
            directory = bundled_model_dir()
            verify(directory, BUNDLED_SHA256)
            return cls(Encoder(directory), BUNDLED_NAME, threshold)
        directory = Path(model_dir)
        return cls(Encoder(directory), directory.name, threshold)

    def set_topics(self, topics: list[TopicSpec]) -> None:
        """Use these topics from now on (admins' changes and corrections apply at once)."""
        with self._lock:
            self.topics.set_topics(topics)

    def classify(self, texts: list[str]) -> list[Classification]:
        """Classify a batch of texts."""
        if not texts:
            return []
        embeddings = self.encoder.encode(texts)
        sentiments = self.sentiment.predict(embeddings)
        names, scores = self.topics.score(embeddings)
        results = []
        for (label, score), row in zip(sentiments, scores, strict=True):
            best = int(row.argmax()) if len(names) else -1
            confidence = float(row[best]) if best >= 0 else 0.0
            topic = names[best] if best >= 0 and confidence >= self.threshold else None
            results.append(Classification(label, score, topic, confidence, self.version))
        return results
