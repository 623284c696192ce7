"""What the core hands to the classifier and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Sentiment = Literal["negative", "neutral", "positive"]
SENTIMENTS: tuple[Sentiment, ...] = ("negative", "neutral", "positive")


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
    `topic` is None when no topic's confidence reaches the threshold.
    """

    sentiment: Sentiment
    sentiment_score: float
    topic: str | None
    topic_confidence: float
    model_version: str
