"""Int8 weights, made once from the verified fp32 model and cached: about twice the speed."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import onnxruntime

from classifiers.encoder import ModelError, sha256_of


def int8_model(source: Path, source_sha256: str, cache_dir: Path) -> tuple[Path, str]:
    """Path and SHA-256 of a per-channel dynamic int8 copy of `source`, made on first use.

    The copy is named after its source's hash and onnxruntime's version, and its own
    hash is recorded beside it; a copy that no longer matches is made again.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{source_sha256[:16]}-ort{onnxruntime.__version__}-int8"
    target, recorded = cache_dir / f"{stem}.onnx", cache_dir / f"{stem}.sha256"
    if target.is_file() and recorded.is_file():
        digest = sha256_of(target)
        if digest == recorded.read_text().strip():
            return target, digest
    _quantize(source, target)
    digest = sha256_of(target)
    recorded.write_text(digest)
    return target, digest


def _quantize(source: Path, target: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # onnx is a dependency; this guards broken installs
        raise ModelError(f"int8 quantization needs the onnx package: {exc}") from None
    handle, partial = tempfile.mkstemp(dir=target.parent, suffix=".onnx.partial")
    os.close(handle)
    root = logging.getLogger()
    advice = logging.Filter("never")  # quantize_dynamic advises pre-processing on the root logger
    root.addFilter(advice)
    try:
        quantize_dynamic(source, partial, per_channel=True, weight_type=QuantType.QInt8)
        os.replace(partial, target)  # atomic: a concurrent loader never sees half a file
    finally:
        root.removeFilter(advice)
        Path(partial).unlink(missing_ok=True)
