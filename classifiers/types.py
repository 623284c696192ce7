"""What the core hands to the classifier and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Sentiment = Literal["negative", "neutral", "positive"]
SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")

# The languages the sentiment model reads (ISO 639-1); items in others are flagged.
READABLE_LANGUAGES: frozenset[str] = frozenset({"en"})
# Too little text to tell (a word or two, emoji only): read as if in a readable language.
UNDETERMINED_LANGUAGE = "und"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic as the classifier sees it: its words, nothing about departments."""

    name: str
    description: str = ""
    examples: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Classification:
    """The labels of one text.

    `sentiment_score` runs from -1 (surely negative) to +1 (surely positive);
    `sentiment_confidence` is the calibrated probability (1/3 to 1) that `sentiment` is
    right: quote an item as a cheer or a jeer only when it is high enough (see
    `Classifier.sure`). `topic` is None when no topic's confidence reaches the threshold.
    `language` is the text's ISO 639-1 code, or "und" when too short to tell;
    `readable` is False when the text is in a language the model does not read: its
    sentiment is then a guess with confidence 0, never to be counted or quoted as one.
    """

    sentiment: Sentiment
    sentiment_score: float
    topic: str | None
    topic_confidence: float
    model_version: str
    sentiment_confidence: float = 1.0
    language: str = UNDETERMINED_LANGUAGE
    readable: bool = True
