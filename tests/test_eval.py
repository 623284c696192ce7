"""`upside eval` and `upside reclassify`: stable formats, real figures, clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import DATA
from tests.test_cli import env, invoke  # noqa: F401  (env is a fixture)

STARTER = Path(__file__).parents[1] / "bot" / "data" / "starter.toml"


def test_eval_sentiment_json(env):  # noqa: F811
    result = invoke(env, "eval", "sentiment", str(DATA / "sentiment_holdout.csv"), "--json")
    report = json.loads(result.stdout)
    assert report["n"] == 60
    assert report["accuracy"] >= 0.85 and report["macro_f1"] >= 0.85
    assert set(report["per_class"]) == {"negative", "neutral", "positive"}
    assert report["per_class"]["neutral"]["support"] == 20
    assert sum(map(sum, report["confusion"])) == 60
    assert report["messages_per_second"] > 0


def test_eval_sentiment_table(env):  # noqa: F811
    output = invoke(env, "eval", "sentiment", str(DATA / "sentiment_holdout.csv")).stdout
    for words in ("accuracy", "macro-F1", "messages/s", "Per class", "Confusion matrix"):
        assert words in output


def test_eval_topics_reports_the_threshold_trade_off(env, tmp_path):  # noqa: F811
    rows = list(csv.DictReader((DATA / "topic_holdout.csv").open(encoding="utf-8")))
    rows.append({"text": "What lovely weather we are having this week.", "topic": ""})
    sample = tmp_path / "topics.csv"
    with sample.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "topic"])
        writer.writeheader()
        writer.writerows(rows)
    result = invoke(env, "eval", "topics", str(sample), "--topics", str(STARTER), "--json")
    report = json.loads(result.stdout)
    assert report["n"] == 49 and report["accuracy"] >= 0.8
    assert "Delivery" in report["per_class"] and "(none)" in report["per_class"]
    coverage = [point["coverage"] for point in report["thresholds"]]
    assert coverage == sorted(coverage, reverse=True) and coverage[0] == 1.0
    assert report["threshold"] == 0.25
    table = invoke(env, "eval", "topics", str(sample), "--topics", str(STARTER)).stdout
    assert "coverage against accuracy" in table


def test_eval_refuses_bad_files(env, tmp_path):  # noqa: F811
    wrong_labels = tmp_path / "labels.csv"
    wrong_labels.write_text("text,label\nfine,great\n")
    output = invoke(env, "eval", "sentiment", str(wrong_labels), code=2).stdout
    assert "unknown sentiment labels: great" in output
    wrong_columns = tmp_path / "columns.csv"
    wrong_columns.write_text("sentence,label\nfine,positive\n")
    assert (
        "text,topic"
        in invoke(
            env, "eval", "topics", str(wrong_columns), "--topics", str(STARTER), code=2
        ).stdout
    )


def test_eval_reads_files_as_import_does(env, tmp_path):  # noqa: F811
    export = tmp_path / "export.csv"  # a help-desk export: latin-1, `;`, a `Text` column
    rows = [
        "Text;Label",
        "Caf\xe9 staff were lovely;positive",
        "The r\xe9sum\xe9 upload fails;negative",
    ]
    export.write_bytes("\n".join(rows).encode("latin-1"))
    report = json.loads(invoke(env, "eval", "sentiment", str(export), "--json").stdout)
    assert report["n"] == 2


def test_eval_never_shows_a_library_message(env, tmp_path):  # noqa: F811
    garbled = tmp_path / "garbled.csv"
    garbled.write_bytes(bytes(range(256)) * 40)
    output = invoke(env, "eval", "sentiment", str(garbled), code=2).stdout
    assert output.startswith("error:") and len(output.strip().splitlines()) == 1
    for leak in ("Traceback", "Error:", "codec", "line contains NUL", "_csv"):
        assert leak not in output


def test_reclassify_command(env, tmp_path):  # noqa: F811
    invoke(env, "init")
    feedback = tmp_path / "in.jsonl"
    texts = ["The parcel was late", "Rude staff at the till", "Great app"]
    feedback.write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts))
    )
    invoke(env, "import", str(feedback))
    assert "reclassified 3 items" in invoke(env, "reclassify").stdout
