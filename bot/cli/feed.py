"""Feeding the catalogue from the terminal: file imports and classifying what waits."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.markup import escape
from rich.progress import Progress

from bot.cli.output import console
from bot.core import Upside


def import_feedback(
    core: Upside, file: Path, source: str | None = None, columns: Mapping[str, str] | None = None
) -> dict:
    """Read `file` in chunks with a progress bar; returns counts and the rejected rows.

    `columns` names a field's column where the usual names do not fit (see
    `adapters.importer.read_rows`).
    """
    from adapters.importer import read_rows

    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    rejected: list[tuple[int, str]] = []
    total = file.read_bytes().count(b"\n")  # roughly the rows, for the progress bar
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"importing {file.name}", total=total)
        chunk: list = []

        def flush() -> None:
            report = core.ingest([row.item for row in chunk])
            for row, result in zip(chunk, report.results, strict=True):
                counts[result.outcome] += 1
                if result.outcome == "rejected":
                    rejected.append((row.line, result.reason))
            progress.advance(task, len(chunk))
            chunk.clear()

        for row in read_rows(file, source, columns):
            if row.item is None:
                counts["rejected"] += 1
                rejected.append((row.line, row.error))
                progress.advance(task)
                continue
            chunk.append(row)
            if len(chunk) >= 200:
                flush()
        flush()
    rejected.sort()  # undecodable lines are reported as the reader passes them
    return {"file": file.name, **counts, "errors": rejected}


def print_import_summary(summary: dict) -> None:
    """The accepted / duplicate / rejected counts, then each rejected line and its reason."""
    console.print(
        f"[bold]{escape(summary['file'])}[/]: [green]{summary['accepted']} accepted[/], "
        f"{summary['duplicate']} duplicates, [red]{summary['rejected']} rejected[/]"
    )
    for line, reason in summary["errors"]:
        console.print(f"  line {line}: {escape(reason)}")


def classify_pending(core: Upside) -> int:
    """Run the worker over every unclassified item, with a progress bar."""
    with console.status("loading the model"):
        worker = core.worker
    pending = worker.pending()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("classifying", total=pending)
        done = worker.run_pending(lambda n: progress.advance(task, n))
    console.print(f"classified {done} items")
    return done
