"""The terminal the command line writes to, and how it reports an expected error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

console = Console()


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error in red and return the exit to raise."""
    console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


@contextmanager
def refused(*errors: type[Exception]) -> Iterator[None]:
    """Turn an expected error (bad setting, unknown name, bad value) into a red error and exit 2."""
    try:
        yield
    except errors as exc:
        raise fail(str(exc)) from None
