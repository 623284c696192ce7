"""Readers for the development data in ../shared/data (evaluation only, never bundled)."""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("UPSIDE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data"))
SENTIMENT = DATA / "sentiment-labelled-sentences"
BANKING = DATA / "banking77"
TWEETEVAL = DATA / "tweeteval-sentiment"
BANKING_TOPICS = Path(__file__).parent / "data" / "banking77_topics.toml"


def review_sentences() -> list[tuple[str, str]]:
    """The 3,000 Amazon, Yelp and IMDb sentences as (text, negative|positive)."""
    rows = []
    for name in ("amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"):
        for line in (SENTIMENT / name).read_text(encoding="utf-8").splitlines():
            text, _, label = line.rpartition("\t")
            if text.strip():
                rows.append((text.strip(), "positive" if label.strip() == "1" else "negative"))
    return rows


def tweeteval(split: str) -> list[tuple[str, str]]:
    """TweetEval sentiment val or test rows as (text, negative|neutral|positive)."""
    with (TWEETEVAL / f"{split}.csv").open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["label"]) for row in csv.DictReader(handle)]


def banking(split: str) -> list[tuple[str, str]]:
    """Banking77 train or test rows as (text, category)."""
    with (BANKING / f"{split}.csv").open(newline="", encoding="utf-8") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def random_examples(k: int, seed: int) -> dict[str, list[str]]:
    """k training phrases per category, drawn at random."""
    by_topic: dict[str, list[str]] = {}
    for text, topic in banking("train"):
        by_topic.setdefault(topic, []).append(text)
    rng = random.Random(seed)
    return {topic: rng.sample(texts, k) for topic, texts in sorted(by_topic.items())}


def representative_examples(k: int, embed) -> dict[str, list[str]]:
    """k training phrases per category chosen as an admin would: varied and typical.

    The category's phrases are clustered into k groups (k-means on their embeddings)
    and the phrase nearest each group's centre is kept.
    """
    from sklearn.cluster import KMeans

    by_topic: dict[str, list[str]] = {}
    for text, topic in banking("train"):
        by_topic.setdefault(topic, []).append(text)
    chosen = {}
    for topic, texts in sorted(by_topic.items()):
        vectors = embed(texts)
        centres = KMeans(k, n_init=5, random_state=0).fit(vectors).cluster_centers_
        picks = dict.fromkeys(int(np.argmax(vectors @ c)) for c in centres)
        chosen[topic] = [texts[i] for i in picks]
    return chosen
