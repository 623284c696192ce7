"""Which sentiment model ships: its file, the SHA-256 it must have, and the confidence from
which its labels count as sure. `make model` rewrites this file with the weights; it
imports nothing heavy, so the core can read it without loading the model stack."""

from __future__ import annotations

from pathlib import Path

MODEL_FILE = Path(__file__).parent / "data" / "upside-sentiment-int8.onnx"
MODEL_SHA256 = "b4003b5b35150eecbbb1e71e069f8b06f1e13100a3d3f9262961759ade82a3f2"
MODEL_NAME = "upside-sentiment-int8"
# From this calibrated confidence a positive or negative label counts as sure (a cheer,
# a jeer, a complaint): on TweetEval's val.csv (never trained on), at most 5% of sure
# positive labels are complaints and at most 5% of sure negative ones are praise.
# Chosen by `make model` with the file.
SURE_CONFIDENCE = 0.82
