"""Upside's own sentiment model: MiniLM fine-tuned for feedback, int8, shipped in the repository.

One ONNX graph gives both what a text's topic is matched with (the mean-pooled sentence
embedding, kept close to all-MiniLM-L6-v2's during training) and the calibrated
probabilities of negative, neutral and positive, read from a copy of the last layer
that was free to learn sentiment. `make model` rebuilds the file and
this pin; `classifiers/data/MODEL_CARD.md` says how it was made and how well it does.

Its int8 activations use fixed, calibrated scales (static quantization), so a text's
labels and scores do not depend on the other texts in its batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifiers.encoder import (
    BUNDLED_SHA256,
    ModelError,
    OnnxModel,
    bundled_model_dir,
    sha256_of,
    verify,
)
from classifiers.pin import MODEL_FILE, MODEL_NAME, MODEL_SHA256


class SentimentModel:
    """Sentence embeddings and sentiment probabilities from the shipped, hash-checked file."""

    def __init__(self, path: Path = MODEL_FILE, sha256: str = MODEL_SHA256) -> None:
        if not path.is_file():
            raise ModelError(f"model file missing: {path}")
        got = sha256_of(path)
        if got != sha256:
            raise ModelError(f"model file {path} has SHA-256 {got}, expected {sha256}; refusing it")
        tokenizer_dir = bundled_model_dir()
        verify(tokenizer_dir, {"tokenizer.json": BUNDLED_SHA256["tokenizer.json"]})
        self.model = OnnxModel(tokenizer_dir / "tokenizer.json", path)
        self.name, self.key = MODEL_NAME, sha256[:16]

    def run(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Unit-length embeddings (texts x 384) and probabilities (texts x 3, SENTIMENTS order)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32), np.zeros((0, 3), dtype=np.float32)
        embeddings, probabilities = self.model.run(texts)
        return embeddings, probabilities
