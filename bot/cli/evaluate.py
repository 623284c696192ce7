"""`upside eval sentiment|topics`: accuracy, macro-F1, per-class scores, confusions, speed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the model stack loads only when a command runs
    from bot.config import Settings
    from classifiers import Classifier
    from classifiers.evaluate import Report

eval_app = typer.Typer(help="Measure the model on labelled CSV files.", no_args_is_help=True)
console = Console()
MATRIX_LIMIT = 12  # wider confusion matrices are listed as the most frequent confusions

CsvFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Labelled CSV.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object instead.")]


def _rows(path: Path, column: str) -> list[tuple[str, str]]:
    """(text, label) pairs, read by the import's rules; bad lines are listed and skipped."""
    from adapters.importer import COMMON_NAMES, ImportFormatError, read_records

    names = {"text": COMMON_NAMES["text"], column: (column,)}
    rows = []
    try:
        for line, record in read_records(path, names, {}, required=("text", column)):
            if isinstance(record, str):
                console.print(f"[yellow]line {line} skipped:[/] {escape(record)}")
            else:
                rows.append((str(record["text"]), str(record[column]).strip()))
    except ImportFormatError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))} (needs the columns text,{column})")
        raise typer.Exit(2) from None
    if not rows:
        console.print(f"[bold red]error:[/] {escape(path.name)} has no labelled rows")
        raise typer.Exit(2)
    return rows


def _load(settings: Settings, threshold: float | None) -> Classifier:
    from classifiers import Classifier

    with console.status("loading the model"):
        classifier = Classifier.load(
            settings.model_dir, settings.topic_threshold, settings.quantize, settings.cache_dir
        )
    if threshold is not None:
        classifier.threshold = threshold
    return classifier


@eval_app.command("sentiment")
def sentiment(ctx: typer.Context, file: CsvFile, as_json: AsJson = False) -> None:
    """Evaluate sentiment on FILE (columns text,label; negative, neutral, positive)."""
    from classifiers.evaluate import evaluate_sentiment

    rows = _rows(file, "label")
    try:
        report = evaluate_sentiment(_load(ctx.obj, None), rows)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    _show(report, as_json)


@eval_app.command("topics")
def topics(
    ctx: typer.Context,
    file: CsvFile,
    topics_file: Annotated[
        Path,
        typer.Option("--topics", exists=True, dir_okay=False, help="Topics TOML (as for init)."),
    ],
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Override UPSIDE_TOPIC_THRESHOLD.")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Evaluate topics on FILE (columns text,topic) against the topics of a TOML file."""
    from bot.intake.topics import ConfigFileError, read_topics_file
    from classifiers.evaluate import evaluate_topics

    rows = _rows(file, "topic")
    try:
        config = read_topics_file(topics_file)
    except ConfigFileError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    classifier = _load(ctx.obj, threshold)
    classifier.set_topics(config.specs())
    _show(evaluate_topics(classifier, rows), as_json)


def _show(report: Report, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.as_json()))
        return
    console.print(
        f"[bold]{report.task}[/] on {report.n} items: accuracy [bold]{report.accuracy:.3f}[/], "
        f"macro-F1 [bold]{report.macro_f1:.3f}[/], "
        f"{report.messages_per_second:,.0f} messages/s  [dim]({report.model_version})[/]"
    )
    per_class = Table("class", "precision", "recall", "F1", "support", title="Per class")
    for label, score in report.per_class.items():
        per_class.add_row(
            Text(label),
            f"{score.precision:.3f}",
            f"{score.recall:.3f}",
            f"{score.f1:.3f}",
            str(score.support),
        )
    console.print(per_class)
    _show_confusions(report)
    if report.thresholds:
        sweep = Table(
            "threshold",
            "coverage",
            "accuracy on covered",
            "accuracy",
            title="Topic confidence threshold: coverage against accuracy",
        )
        for point in report.thresholds:
            marker = (
                " ←"
                if report.threshold is not None and abs(point.threshold - report.threshold) < 1e-9
                else ""
            )
            sweep.add_row(
                f"{point.threshold:.2f}{marker}",
                f"{point.coverage:.3f}",
                f"{point.accuracy_on_covered:.3f}",
                f"{point.accuracy:.3f}",
            )
        console.print(sweep)


def _show_confusions(report: Report) -> None:
    labels, matrix = report.labels, report.confusion
    if len(labels) <= MATRIX_LIMIT:
        table = Table("true ↓ / predicted →", *map(escape, labels), title="Confusion matrix")
        for label, row in zip(labels, matrix, strict=True):
            table.add_row(Text(label), *(str(v) for v in row))
        console.print(table)
        return
    pairs = sorted(
        (
            (count, labels[i], labels[j])
            for i, row in enumerate(matrix)
            for j, count in enumerate(row)
            if i != j and count
        ),
        reverse=True,
    )[:15]
    table = Table(
        "count", "true", "predicted as", title="Most frequent confusions (--json has all)"
    )
    for count, true, predicted in pairs:
        table.add_row(str(count), Text(true), Text(predicted))
    console.print(table)
