"""The feedback classifier: one encoder pass, then the sentiment and topic heads."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from classifiers.encoder import (
    BUNDLED_NAME,
    BUNDLED_SHA256,
    Encoder,
    ModelError,
    bundled_model_dir,
    onnx_file,
    sha256_of,
    verify,
)
from classifiers.quantize import int8_model
from classifiers.sentiment import SEED_FILE, SentimentHead, read_labelled, seed_fingerprint
from classifiers.topics import TopicHead
from classifiers.types import Classification, TopicSpec

DEFAULT_CACHE = Path.home() / ".cache" / "upside"


class Classifier:
    """Sentiment and topic for batches of texts.

    >>> clf = Classifier.load()
    >>> clf.set_topics([TopicSpec("Delivery", "parcels arriving late or damaged")])
    >>> clf.classify(["My parcel is a week late"])[0].topic
    'Delivery'
    """

    def __init__(self, encoder: Encoder, threshold: float, cache_dir: Path | None = None) -> None:
        self.encoder = encoder
        self.threshold = threshold
        seed = read_labelled(str(SEED_FILE))
        fingerprint = seed_fingerprint(seed)
        embeddings = _cached(
            cache_dir and cache_dir / f"seed-{encoder.key}-{fingerprint}.npy",
            lambda: encoder.encode([text for text, _ in seed]),
        )
        self.sentiment = SentimentHead(embeddings, [label for _, label in seed], fingerprint)
        self.topics = TopicHead(encoder.encode)
        self.version = f"{encoder.name}/{self.sentiment.version}"
        self._lock = threading.Lock()  # serialises topic updates; scoring reads a snapshot

    @classmethod
    def load(
        cls,
        model: str | None = None,
        threshold: float = 0.25,
        quantize: bool = True,
        cache_dir: Path | None = DEFAULT_CACHE,
    ) -> Classifier:
        """The bundled model (SHA-256 checked) or a Hugging Face model directory or hub id.

        With `quantize`, an int8 copy of the weights is made once into `cache_dir`.
        """
        if model is None:
            directory, name = bundled_model_dir(), BUNDLED_NAME
            verify(directory, BUNDLED_SHA256)
            source, digest = onnx_file(directory), BUNDLED_SHA256["onnx/model.onnx"]
        else:
            directory = _model_directory(model)
            name = model.rstrip("/").split("/")[-1]
            source = onnx_file(directory)
            digest = sha256_of(source)
        if quantize:
            if cache_dir is None:
                raise ModelError("int8 quantization needs a cache directory")
            source, digest = int8_model(source, digest, cache_dir)
            name += "-int8"
        return cls(Encoder(directory, source, name, digest[:16]), threshold, cache_dir)

    def set_topics(self, topics: list[TopicSpec]) -> None:
        """Use these topics from now on (admins' changes and corrections apply at once)."""
        with self._lock:
            self.topics.set_topics(topics)

    def classify(self, texts: list[str], threshold: float | None = None) -> list[Classification]:
        """Classify a batch of texts; `threshold` overrides the configured topic threshold."""
        threshold = self.threshold if threshold is None else threshold
        if not texts:
            return []
        embeddings = self.encoder.encode(texts)
        sentiments = self.sentiment.predict(embeddings)
        names, scores = self.topics.score(embeddings)
        results = []
        for (label, score), row in zip(sentiments, scores, strict=True):
            best = int(row.argmax()) if len(names) else -1
            confidence = float(row[best]) if best >= 0 else 0.0
            topic = names[best] if best >= 0 and confidence >= threshold else None
            results.append(Classification(label, score, topic, confidence, self.version))
        return results


def _model_directory(model: str) -> Path:
    """A local directory as given, or a hub id fetched once into the Hugging Face cache."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    if path.exists() or model.count("/") != 1:
        raise ModelError(f"{model} is neither a model directory nor a hub id such as org/name")
    from huggingface_hub import snapshot_download

    patterns = ["onnx/model.onnx", "onnx/model.onnx_data", "*.json", "*.txt", "*.model"]
    return Path(snapshot_download(model, allow_patterns=patterns))


def _cached(path: Path | None, compute) -> np.ndarray:
    """`compute()`, kept in `path` as .npy so later starts skip it."""
    if path is not None and path.is_file():
        return np.load(path)
    value = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial.npy")
        np.save(partial, value)
        os.replace(partial, path)  # atomic, for processes starting side by side
    return value
