"""Topic matching: each topic is described by its name, description and example phrases."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from classifiers.types import TopicSpec

Embed = Callable[[list[str]], np.ndarray]


class TopicHead:
    """Scores texts against topics by cosine similarity; keeps embeddings of known phrases."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._cache: dict[str, np.ndarray] = {}
        self._names: list[str] = []
        self._labels = np.zeros((0, 384), dtype=np.float32)
        self._examples: list[np.ndarray] = []

    def set_topics(self, topics: list[TopicSpec]) -> None:
        """Replace the topic set; only phrases not seen before are embedded."""
        label_texts = [self._label_text(t) for t in topics]
        wanted = label_texts + [e for t in topics for e in t.examples]
        new = [text for text in dict.fromkeys(wanted) if text not in self._cache]
        if new:
            self._cache.update(zip(new, self._embed(new), strict=True))
        labels = np.stack([self._cache[t] for t in label_texts]) if topics else self._labels[:0]
        examples = [
            np.stack([self._cache[e] for e in t.examples]) if t.examples else labels[i : i + 1]
            for i, t in enumerate(topics)
        ]
        # One assignment each so a concurrent scorer never sees half a topic set.
        self._names, self._labels, self._examples = [t.name for t in topics], labels, examples

    @staticmethod
    def _label_text(topic: TopicSpec) -> str:
        return f"{topic.name}: {topic.description}" if topic.description else topic.name

    @property
    def names(self) -> list[str]:
        """The current topics' names."""
        return list(self._names)

    def score(self, embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
        """The topic names and a (texts x topics) matrix of confidences in [0, 1]."""
        names, labels, examples = self._names, self._labels, self._examples
        if not names:
            return names, np.zeros((len(embeddings), 0), dtype=np.float32)
        by_label = embeddings @ labels.T
        by_example = np.stack([(embeddings @ e.T).max(axis=1) for e in examples], axis=1)
        return names, np.clip(0.5 * by_label + 0.5 * by_example, 0.0, 1.0)
