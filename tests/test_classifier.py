"""The real model on sentences written for the tests, never trained on."""

from __future__ import annotations

import csv
import shutil

import pytest

from bot.intake.topics import read_topics_file
from classifiers import Classifier, ModelError, TopicSpec
from classifiers.encoder import BUNDLED_SHA256, bundled_model_dir, sha256_of, verify
from classifiers.quantize import int8_model
from tests.conftest import DATA


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def starter(classifier: Classifier) -> Classifier:
    topics = read_topics_file().topics
    classifier.set_topics([TopicSpec(t.name, t.description, tuple(t.examples)) for t in topics])
    return classifier


def test_sentiment_on_held_out_sentences(classifier):
    rows = _rows("sentiment_holdout.csv")
    predicted = [c.sentiment for c in classifier.classify([r["text"] for r in rows])]
    for label in ("negative", "neutral", "positive"):
        hits = [
            p == r["label"] for p, r in zip(predicted, rows, strict=True) if r["label"] == label
        ]
        assert sum(hits) / len(hits) >= 0.8, f"{label} recall {sum(hits)}/{len(hits)}"


@pytest.mark.parametrize(
    "text",
    ["What time do you open on Sunday?", "I moved to a new address", "My order number is 88231."],
)
def test_plain_questions_and_facts_are_neutral(classifier, text):
    assert classifier.classify([text])[0].sentiment == "neutral"


def test_scores_are_signed(classifier):
    bad, good = classifier.classify(["This is the worst service I have ever had.", "Wonderful!"])
    assert bad.sentiment_score < -0.5 < 0.5 < good.sentiment_score


def test_topics_on_held_out_messages(starter):
    rows = _rows("topic_holdout.csv")
    predicted = [c.topic for c in starter.classify([r["text"] for r in rows])]
    correct = sum(p == r["topic"] for p, r in zip(predicted, rows, strict=True))
    assert correct / len(rows) >= 0.8, f"{correct}/{len(rows)}"


def test_no_topic_below_the_threshold(starter):
    result = starter.classify(["What lovely weather we are having this week."])[0]
    assert result.topic is None
    assert result.topic_confidence < starter.threshold


def test_every_result_carries_the_model_version(classifier):
    results = classifier.classify(["one", "two"])
    assert len(results) == 2
    assert {r.model_version for r in results} == {classifier.version}
    assert classifier.version.startswith("upside-sentiment-int8-")
    assert classifier.classify([]) == []


def test_tampered_weights_are_refused(tmp_path):
    source = bundled_model_dir()
    (tmp_path / "onnx").mkdir()
    tampered = bytearray((source / "onnx/model.onnx").read_bytes())
    tampered[-1] ^= 0xFF
    (tmp_path / "onnx/model.onnx").write_bytes(bytes(tampered))
    (tmp_path / "onnx/model.onnx_data").symlink_to(source / "onnx/model.onnx_data")
    with pytest.raises(ModelError, match=r"model\.onnx has SHA-256 .* expected"):
        verify(tmp_path, BUNDLED_SHA256)
    (tmp_path / "onnx/model.onnx").unlink()
    with pytest.raises(ModelError, match="missing"):
        verify(tmp_path, BUNDLED_SHA256)


def test_a_model_directory_can_be_configured(tmp_path):
    shutil.copytree(bundled_model_dir(), tmp_path / "my-model")
    other = Classifier.load(str(tmp_path / "my-model"), quantize=False, cache_dir=None)
    assert other.version.startswith("my-model/")
    assert other.classify(["Terrible, never again."])[0].sentiment == "negative"
    with pytest.raises(ModelError, match="neither a model directory nor a hub id"):
        Classifier.load(str(tmp_path / "missing" / "deeper" / "model"))


def test_int8_weights_are_made_once_and_remade_if_damaged(tmp_path):
    source = bundled_model_dir() / "onnx" / "model.onnx"
    digest = BUNDLED_SHA256["onnx/model.onnx"]
    path, int8_digest = int8_model(source, digest, tmp_path)
    made = path.stat().st_mtime_ns
    assert path.stat().st_size < (source.parent / "model.onnx_data").stat().st_size / 3
    assert int8_model(source, digest, tmp_path) == (path, int8_digest)
    assert path.stat().st_mtime_ns == made  # reused, not made again
    path.write_bytes(path.read_bytes()[:-10])
    again, again_digest = int8_model(source, digest, tmp_path)
    assert again == path and again_digest == int8_digest == sha256_of(path)
