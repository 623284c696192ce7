"""Write public/goemotions.csv: a sample of GoEmotions' Reddit comments as three feelings.

    python -m classifiers.training.goemotions path/to/goemotions/data/train.tsv JUDGE.onnx

GoEmotions (Demszky et al., ACL 2020; google-research/google-research, Apache-2.0) labels
58k Reddit comments with 27 emotions or neutral, each kept label chosen by at least two
raters. Its own sentiment grouping (data/sentiment_dict.json) makes them feelings:
positive and negative emotions give their feeling; "ambiguous" ones (surprise, curiosity,
confusion, realization) and neutral give neutral, as plain questions and remarks are
neutral in Upside. A comment with emotions of both feelings, or with an emotion and
neutral, is left out: its raters disagreed. So is one that an earlier Upside model (the
judge, a model file) reads with confidence as the opposite feeling: GoEmotions' raters
often labelled sarcasm by its words ("Wow nice way to live in an echo chamber" is
admiration there), and a complaint taught as praise is the error Upside must not make.
The masks GoEmotions put on names become names; comments with its religion mask are
left out. A seeded sample of at most `PER_LABEL` comments per feeling keeps it a
minority beside Upside's own feedback.
"""

from __future__ import annotations

import csv
import random
import sys
from collections import Counter
from pathlib import Path

OUT = Path(__file__).parent / "public" / "goemotions.csv"
PER_LABEL = 4000
OPPOSITE = 0.8  # the judge's probability of the opposite feeling that leaves a comment out
EMOTIONS = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
]
POSITIVE = {
    "amusement",
    "excitement",
    "joy",
    "love",
    "desire",
    "optimism",
    "caring",
    "pride",
    "admiration",
    "gratitude",
    "relief",
    "approval",
}
NEGATIVE = {
    "fear",
    "nervousness",
    "remorse",
    "embarrassment",
    "disappointment",
    "sadness",
    "grief",
    "disgust",
    "anger",
    "annoyance",
    "disapproval",
}
NAMES = "Alex Sam Jordan Chris Taylor Maria James Priya Tom Aisha Ben Lucy Omar Kate Dan Mia"


def feeling(emotions: set[str]) -> str | None:
    """The feeling of one comment's emotions, or None when its raters disagreed."""
    felt = {"positive" for e in emotions if e in POSITIVE}
    felt |= {"negative" for e in emotions if e in NEGATIVE}
    if len(felt) > 1 or (felt and "neutral" in emotions):
        return None
    return felt.pop() if felt else "neutral"


def rows(tsv: Path, rng: random.Random) -> list[tuple[str, str]]:
    """(text, feeling) for every usable comment, names filled in."""
    names = NAMES.split()
    kept = []
    with tsv.open(newline="", encoding="utf-8") as handle:
        for fields in csv.reader(handle, delimiter="\t"):
            if len(fields) < 2 or not fields[1].replace(",", "").isdigit():
                continue  # a header row, in some copies
            text, ids = fields[0].strip(), fields[1]
            label = feeling({EMOTIONS[int(i)] for i in ids.split(",")})
            if label is None or "[RELIGION]" in text or not text:
                continue
            while "[NAME]" in text:
                text = text.replace("[NAME]", rng.choice(names), 1)
            kept.append((text, label))
    return kept


def judged(comments: list[tuple[str, str]], judge: Path) -> list[tuple[str, str]]:
    """The comments the judge does not read, with confidence, as the opposite feeling."""
    from classifiers.encoder import sha256_of
    from classifiers.sentiment_model import SentimentModel
    from classifiers.types import SENTIMENTS

    probabilities = SentimentModel(judge, sha256_of(judge)).run([t for t, _ in comments])[1]
    opposite = {"positive": SENTIMENTS.index("negative"), "negative": SENTIMENTS.index("positive")}
    return [
        (text, label)
        for (text, label), p in zip(comments, probabilities, strict=True)
        if label not in opposite or p[opposite[label]] < OPPOSITE
    ]


def main() -> None:
    rng = random.Random(13)
    usable = rows(Path(sys.argv[1]), rng)
    every = judged(usable, Path(sys.argv[2]))
    print(f"{len(usable) - len(every)} comments the judge reads as the opposite feeling")
    rng.shuffle(every)
    taken, sample = Counter(), []
    for text, label in every:
        if taken[label] < PER_LABEL:
            taken[label] += 1
            sample.append((text, label))
    OUT.parent.mkdir(exist_ok=True)
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(sample)
    print(f"{len(usable)} usable comments; wrote {len(sample)} to {OUT}: {dict(taken)}")


if __name__ == "__main__":
    main()
