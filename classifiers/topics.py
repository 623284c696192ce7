"""Topic matching: each topic is described by its name, description and example phrases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from classifiers.types import TopicSpec

Embed = Callable[[list[str]], np.ndarray]


def _empty() -> np.ndarray:
    return np.zeros((0, 384), dtype=np.float32)


@dataclass(frozen=True)
class _TopicSet:
    """Embeddings of one version of the topics, swapped in whole."""

    names: list[str] = field(default_factory=list)
    labels: np.ndarray = field(default_factory=_empty)  # name and description, per topic
    examples: list[np.ndarray] = field(default_factory=list)  # label and examples, per topic
    centroids: np.ndarray = field(default_factory=_empty)  # mean of those, per topic


class TopicHead:
    """Scores texts against topics by cosine similarity; keeps embeddings of known phrases."""

    def __init__(self, embed: Embed) -> None:
        self._embed = embed
        self._cache: dict[str, np.ndarray] = {}
        self._set = _TopicSet()

    def set_topics(self, topics: list[TopicSpec]) -> None:
        """Replace the topic set; only phrases not seen before are embedded."""
        label_texts = [self._label_text(t) for t in topics]
        wanted = label_texts + [e for t in topics for e in t.examples]
        new = [text for text in dict.fromkeys(wanted) if text not in self._cache]
        if new:
            self._cache.update(zip(new, self._embed(new), strict=True))
        if not topics:
            self._set = _TopicSet()
            return
        labels = np.stack([self._cache[t] for t in label_texts])
        # The name and description count as one more example: on a Banking77 split of
        # its train.csv this adds a point with 5 examples a topic, and changes nothing
        # for a topic without examples.
        examples = [
            np.stack([labels[i], *(self._cache[e] for e in t.examples)])
            for i, t in enumerate(topics)
        ]
        centroids = np.stack([_unit(e.mean(axis=0)) for e in examples])
        # One assignment, so a concurrent scorer never sees half a topic set.
        self._set = _TopicSet([t.name for t in topics], labels, examples, centroids)

    @staticmethod
    def _label_text(topic: TopicSpec) -> str:
        name = topic.name.replace("_", " ")
        return f"{name}: {topic.description}" if topic.description else name

    def score(self, embeddings: np.ndarray) -> tuple[list[str], np.ndarray]:
        """The topic names and a (texts x topics) matrix of confidences in [0, 1].

        A text's confidence for a topic averages its cosine similarity to the topic's
        name and description, to the centre of its examples, and to its nearest example
        (the name and description count as an example too): the first carries the
        admin's intent, the others what customers actually write.
        """
        topics = self._set
        if not topics.names:
            return [], np.zeros((len(embeddings), 0), dtype=np.float32)
        nearest = np.stack([(embeddings @ e.T).max(axis=1) for e in topics.examples], axis=1)
        combined = (embeddings @ topics.labels.T + embeddings @ topics.centroids.T + nearest) / 3
        return topics.names, np.clip(combined, 0.0, 1.0)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
