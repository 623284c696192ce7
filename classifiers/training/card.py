"""Write classifiers/data/MODEL_CARD.md for the model `make model` has just made.

    classifiers/training/.venv/bin/python -m classifiers.training.card

It reads what training recorded (classifiers/data/upside-sentiment.json) and measures
the shipped file through the product's own Classifier on the development test sets,
with the same functions as `make bench-quality`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.quality import TARGETS, sentiment_figures, topic_figures  # noqa: E402
from classifiers import Classifier  # noqa: E402
from classifiers.pin import MODEL_FILE, MODEL_SHA256, SURE_CONFIDENCE  # noqa: E402

SUMMARY = MODEL_FILE.parent / "upside-sentiment.json"
CARD = MODEL_FILE.parent / "MODEL_CARD.md"


def _table(figures: dict[str, float], targets: dict[str, float] | None = None) -> str:
    if targets is None:
        lines = ["| figure | value |", "|---|---|"]
        lines += [f"| {name} | {value:.3f} |" for name, value in figures.items()]
        return "\n".join(lines)
    lines = ["| figure | value | target | met |", "|---|---|---|---|"]
    for name, value in figures.items():
        target = targets.get(name)
        met = ("yes" if value >= target else "**no**") if target else ""
        lines.append(f"| {name} | {value:.3f} | {f'>= {target:.2f}' if target else ''} | {met} |")
    return "\n".join(lines)


def _data_table(data: dict) -> str:
    lines = ["| source | rows |", "|---|---:|"]
    lines += [f"| `{name}` | {count:,} |" for name, count in sorted(data["sources"].items())]
    labels = ", ".join(f"{label} {count:,}" for label, count in sorted(data["labels"].items()))
    lines.append(f"| **all** ({labels}) | **{sum(data['sources'].values()):,}** |")
    return "\n".join(lines)


def main() -> None:
    summary = json.loads(SUMMARY.read_text(encoding="utf-8"))
    if summary["sha256"] != MODEL_SHA256:
        raise SystemExit("the recorded training run is not the pinned model; run make model")
    classifier = Classifier.load()
    test = sentiment_figures(classifier) | topic_figures(classifier)
    recipe = summary["recipe"]
    int8 = summary["int8"]
    dev = {
        "held-out training families: macro-F1": int8["held"]["macro_f1"],
        "held-out training families: accuracy": int8["held"]["accuracy"],
        "TweetEval val: macro-F1": int8["val"]["macro_f1"],
        "TweetEval val: accuracy": int8["val"]["accuracy"],
        "TweetEval val: neutral recall": int8["val"]["neutral_recall"],
        "Banking77 train split: name + description": int8["banking_dev"]["name+description"],
        "Banking77 train split: k=5 random (mean of 3)": int8["banking_dev"]["k=5 random"],
    }
    dropped = summary["data"].get("dropped", {})
    CARD.write_text(
        TEMPLATE.format(
            file=MODEL_FILE.name,
            sha=MODEL_SHA256,
            size=MODEL_FILE.stat().st_size / 1e6,
            data=_data_table(summary["data"]),
            train=summary["train_rows"],
            held=summary["held_out_rows"],
            duplicates=dropped.get("duplicate", 0),
            banned=dropped.get("in an evaluation set", 0),
            epochs=recipe["epochs"],
            batch=recipe["batch"],
            lr=recipe["lr"],
            head_lr=recipe["head_lr"],
            distill=recipe["distill"],
            smoothing=recipe["label_smoothing"],
            seed=recipe["seed"],
            calibration=recipe["calibration_texts"],
            minutes=summary["minutes"],
            temperature=f"{summary['temperature']:.2f}",
            offset=summary["neutral_offset"],
            sure=SURE_CONFIDENCE,
            dev=_table(dev),
            test=_table(test, TARGETS),
        ),
        encoding="utf-8",
    )
    print(f"wrote {CARD}")


TEMPLATE = """# Model card: Upside sentiment (`{file}`)

Written by `make model` (`classifiers/training/card.py`); do not edit by hand.

| | |
|---|---|
| file | `classifiers/data/{file}`, {size:.1f} MB, int8 ONNX |
| SHA-256 | `{sha}` (pinned in `classifiers/pin.py`, checked before loading) |
| task | sentiment of customer feedback (negative / neutral / positive, calibrated \
probabilities) and the sentence embedding that topics are matched with |
| language | English. Texts in other languages are detected (`classifiers/language.py`) \
and flagged `readable=False`, never given a sure label |
| base | all-MiniLM-L6-v2 (sentence-transformers; 6 layers, 384 wide, 22M parameters), \
Apache-2.0; its last layer forked in two (7 layers run, 24.5M parameters) |
| licence | Apache-2.0, as the base model and the training data |
| runs on | onnxruntime, CPU; no torch |

## What it outputs

One pass gives `embedding` and `probabilities`. The first five layers are shared; the
sixth is forked. The topic branch's sixth layer gives `embedding` (the L2-normalised mean
of its output, which topic matching reads). The sentiment branch's own copy of that layer
feeds `probabilities` (softmax of a linear head over the mean of its output, with the
temperature and the neutral offset below built in). `Classifier.sure` counts a
positive or negative label as sure from confidence {sure}.

## Data

Written for Upside (`classifiers/training/corpus/`, see its README: help-desk tickets,
chat, public posts with handles, links, hashtags, emoji and sarcasm, survey answers,
app-store reviews, plain questions and facts, emoji-only messages, from many
industries) plus the seed set `classifiers/data/sentiment_seed.csv`; all Apache-2.0.
Public data (`classifiers/training/public/`, see its README): `goemotions`, Reddit
comments from GoEmotions (Demszky et al., 2020; Apache-2.0) with its emotions mapped to
feelings. {duplicates} duplicate rows and {banned} rows that also
appear in an evaluation set (TweetEval, the review sentences, Banking77, the tests'
held-out files) were dropped.

{data}

{held:,} rows (10%, whole families of one sentence in different wrappings) are held out
to fit the temperature and to report; {train:,} are trained on.

## Recipe

- Emoji are spelled out as their CLDR names before tokenising (`classifiers/text.py`),
  in training and in use: the MiniLM vocabulary has almost none.
- Fine-tuning of both branches and the shared layers (not the word embeddings), {epochs:g} epochs,
  batches of {batch} of similar length, AdamW (encoder {lr:g}, head {head_lr:g}, linear
  warm-up and decay), seed {seed}, texts cut at 128 tokens.
- Loss: cross-entropy of the sentiment branch (label smoothing {smoothing}) + {distill:g} x
  (1 - cosine between the topic branch's embedding and the original model's embedding of
  the same text). The second term keeps the embedding where topic matching expects it,
  so topics do not pay for sentiment (see Banking77 below); the forked layer lets
  sentiment move where the shared layers may not, and one pass serves both.
- Calibration: temperature {temperature} fitted on the held-out rows; neutral logit offset
  {offset:+g} chosen for the best macro-F1 on TweetEval val.csv (a threshold, not
  training); the sure confidence chosen on val.csv so that at most 5% of sure positive
  labels are complaints and at most 5% of sure negative labels are praise.
- Export: ONNX (opset 17, eager attention, which onnxruntime runs faster) with pooling
  and head inside, then static int8 quantization (QDQ) of the word embeddings and the
  weight products of both branches: weights int8 per channel, their inputs uint8 with fixed
  ranges (moving average of each text's minimum and maximum over {calibration} training
  texts, one text per run); attention, pooling and head stay float. Fixed ranges mean a
  text's scores never depend on the other texts in its batch, which dynamic
  quantization does not give. Each int8 product is then written with its bias as one
  MatMulIntegerToFloat, which onnxruntime would run as two passes (same numbers). On
  TweetEval val the int8 file agrees with float on about 97% of labels, embedding
  cosine 0.99.
- Training took {minutes} minutes on 2 CPU cores (torch 2.13.0 CPU, in
  `classifiers/training/.venv`, never in the product's environment).

## Figures

Development figures the choices were made on (the shipped int8 file):

{dev}

Reported figures (test sets never used for choices; the same code as
`make bench-quality`, which also shows today's model beside it):

{test}

## Limits

- It reads English only. Other languages are flagged, not translated or scored.
- TweetEval is general public posts (sport, politics, celebrities), further from
  customer feedback than the training data; its neutral class includes much that the
  corpus' guide labels as feeling.
- Sarcasm without cues, and feelings about third parties rather than the company, are
  the usual errors. Use the sure flag for anything quoted as a cheer or jeer.

## Rebuilding

`make model` (about 20-40 minutes on 2 cores): makes `classifiers/training/.venv` with
torch 2.13.0, trains, exports, quantizes, pins the new SHA-256 and writes this card.
Commit the `.onnx` file, `pin.py`, `upside-sentiment.json` and this card together.
"""


if __name__ == "__main__":
    main()
