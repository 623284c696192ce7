"""The feedback classifier: one model pass for sentiment and topic embedding, plus language."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
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
from classifiers.pin import SURE_CONFIDENCE
from classifiers.sentiment import (
    SEED_FILE,
    SentimentHead,
    labels_of,
    read_labelled,
    seed_fingerprint,
)
from classifiers.sentiment_model import SentimentModel
from classifiers.topics import TopicHead
from classifiers.types import READABLE_LANGUAGES, Classification, TopicSpec

DEFAULT_CACHE = Path.home() / ".cache" / "upside"

Run = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]


class Classifier:
    """Sentiment, topic and language for batches of texts.

    >>> clf = Classifier.load()
    >>> clf.set_topics([TopicSpec("Delivery", "parcels arriving late or damaged")])
    >>> clf.classify(["My parcel is a week late"])[0].topic
    'Delivery'

    With Upside's own model a text's labels and scores do not depend on the other texts
    in its batch (its int8 ranges are fixed); another model quantized here uses dynamic
    int8, whose ranges follow the batch: set `quantize=False` where that matters.
    """

    def __init__(
        self, run: Run, embed: Callable[[list[str]], np.ndarray], version: str, threshold: float
    ) -> None:
        from classifiers.language import LanguageDetector

        self._run = run
        self.embed = embed
        self.version = version
        self.threshold = threshold
        self.languages = LanguageDetector()
        self.topics = TopicHead(embed)
        self._lock = threading.Lock()  # serialises topic updates; scoring reads a snapshot

    @classmethod
    def load(
        cls,
        model: str | None = None,
        threshold: float = 0.25,
        quantize: bool = True,
        cache_dir: Path | None = DEFAULT_CACHE,
    ) -> Classifier:
        """Upside's own model (SHA-256 checked), or a Hugging Face model directory or hub id.

        Upside's own model ships in int8 and ignores `quantize`. Another model gets a
        logistic sentiment head fitted on the seed set; with `quantize`, an int8 copy of
        its weights is made once into `cache_dir`.
        """
        if model is None:
            shipped = SentimentModel()
            return cls(
                shipped.run,
                lambda texts: shipped.run(texts)[0],
                f"{shipped.name}-{shipped.key[:8]}",
                threshold,
            )
        encoder = _encoder(model, quantize, cache_dir)
        seed = read_labelled(str(SEED_FILE))
        fingerprint = seed_fingerprint(seed)
        embeddings = _cached(
            cache_dir and cache_dir / f"seed-{encoder.key}-{fingerprint}.npy",
            lambda: encoder.encode([text for text, _ in seed]),
        )
        head = SentimentHead(embeddings, [label for _, label in seed], fingerprint)

        def run(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
            vectors = encoder.encode(texts)
            return vectors, head.probabilities(vectors)

        return cls(run, encoder.encode, f"{encoder.name}/{head.version}", threshold)

    def set_topics(self, topics: list[TopicSpec]) -> None:
        """Use these topics from now on (admins' changes and corrections apply at once)."""
        with self._lock:
            self.topics.set_topics(topics)

    @staticmethod
    def sure(result: Classification) -> bool:
        """Whether `result`'s sentiment is sure enough to quote as a cheer or a jeer."""
        return result.readable and result.sentiment_confidence >= SURE_CONFIDENCE

    def classify(self, texts: list[str], threshold: float | None = None) -> list[Classification]:
        """Classify a batch of texts; `threshold` overrides the configured topic threshold."""
        threshold = self.threshold if threshold is None else threshold
        if not texts:
            return []
        embeddings, probabilities = self._run(texts)
        names, scores = self.topics.score(embeddings)
        languages = self.languages.detect(texts)
        results = []
        for (label, score, confidence), row, language in zip(
            labels_of(probabilities), scores, languages, strict=True
        ):
            best = int(row.argmax()) if len(names) else -1
            topic_confidence = round(float(row[best]), 4) if best >= 0 else 0.0
            topic = names[best] if best >= 0 and topic_confidence >= threshold else None
            readable = language in READABLE_LANGUAGES or language == "und"
            results.append(
                Classification(
                    sentiment=label,
                    sentiment_score=score,
                    topic=topic,
                    topic_confidence=topic_confidence,
                    model_version=self.version,
                    sentiment_confidence=confidence if readable else 0.0,
                    language=language,
                    readable=readable,
                )
            )
        return results


def _encoder(model: str, quantize: bool, cache_dir: Path | None) -> Encoder:
    """The general-purpose encoder of a configured model directory or hub id."""
    directory = _model_directory(model)
    if directory == bundled_model_dir():
        verify(directory, BUNDLED_SHA256)
    name = BUNDLED_NAME if directory == bundled_model_dir() else model.rstrip("/").split("/")[-1]
    source = onnx_file(directory)
    digest = sha256_of(source)
    if quantize:
        from classifiers.quantize import int8_model

        if cache_dir is None:
            raise ModelError("int8 quantization needs a cache directory")
        source, digest = int8_model(source, digest, cache_dir)
        name += "-int8"
    return Encoder(directory, source, name, digest[:16])


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
