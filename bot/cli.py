"""The `upside` command line; as the composition root it is where adapters meet the core."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from bot.config import ConfigError, Settings, load_settings
from bot.core import UnknownDepartment, Upside
from bot.eval_commands import eval_app
from bot.topics import ConfigFileError, apply_topics_file, read_topics_file, topic_specs

app = typer.Typer(
    help="Upside: the voice of the customer, in every department's channel.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
topics_app = typer.Typer(help="Inspect topics.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(db_app, name="db")
app.add_typer(eval_app, name="eval")
execs_app = typer.Typer(help="The executives' roster and scoreboard.", no_args_is_help=True)
app.add_typer(execs_app, name="execs")
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


@app.callback()
def main(ctx: typer.Context) -> None:
    """Read settings once; an invalid setting stops here, naming the variable."""
    with refused(ConfigError):
        settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    if settings.log_level != "DEBUG":  # migrations at start-up are routine, not news
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = settings


def _core(ctx: typer.Context, migrate: bool = True) -> Upside:
    core = Upside(ctx.obj)
    if migrate:
        core.migrate()
    return core


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations to the configured database."""
    _core(ctx)
    console.print("[green]database is up to date[/]")


@app.command()
def init(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Departments and topics TOML file."),
    ] = None,
) -> None:
    """Create the database and load departments and topics (the starter set by default)."""
    with refused(ConfigFileError):
        topics_file = read_topics_file(config)
    core = _core(ctx)
    with core.session() as session:
        departments, topics = apply_topics_file(session, topics_file)
    console.print(f"[green]ready:[/] {departments} departments and {topics} topics loaded")


@app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv or .jsonl")],
    source: Annotated[str | None, typer.Option(help="Source for rows that name none.")] = None,
    classify: Annotated[bool, typer.Option(help="Classify the new items afterwards.")] = True,
) -> None:
    """Import feedback from CSV (header with a `text` column) or JSONL; reports every bad row."""
    from adapters.importer import ImportFormatError

    core = _core(ctx)
    with refused(ImportFormatError):
        summary = import_feedback(core, file, source)
    print_import_summary(summary)
    if classify:
        classify_pending(core)


def import_feedback(core: Upside, file: Path, source: str | None = None) -> dict:
    """Read `file` in chunks with a progress bar; returns counts and the rejected rows."""
    from adapters.importer import read_rows

    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    rejected: list[tuple[int, str]] = []
    total = sum(1 for _ in file.open(encoding="utf-8", errors="replace"))
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

        for row in read_rows(file, source):
            if row.item is None:
                counts["rejected"] += 1
                rejected.append((row.line, row.error))
                progress.advance(task)
                continue
            chunk.append(row)
            if len(chunk) >= 200:
                flush()
        flush()
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


@app.command()
def classify(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="Texts to classify.")],
) -> None:
    """Classify texts against the configured topics; nothing is stored."""
    core = _core(ctx)
    with console.status("loading the model"):
        worker = core.worker
    table = Table("text", "sentiment", "score", "topic", "confidence")
    for text, label in zip(texts, worker.classifier.classify(texts), strict=True):
        table.add_row(
            escape(text),
            label.sentiment,
            f"{label.sentiment_score:+.2f}",
            escape(label.topic or "—"),
            f"{label.topic_confidence:.2f}",
        )
    console.print(table)
    console.print(f"[dim]model {worker.classifier.version}[/]")


@app.command()
def reclassify(ctx: typer.Context) -> None:
    """Label the stored catalogue again after topics change; hand-labelled items stay."""
    core = _core(ctx)
    with console.status("loading the model"):
        worker = core.worker
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("reclassifying", total=worker.relabellable())
        done = worker.reclassify(lambda n: progress.advance(task, n))
    console.print(f"reclassified {done} items; items labelled by hand were left as they were")


@topics_app.command("list")
def topics_list(ctx: typer.Context) -> None:
    """List topics with their departments and example counts."""
    from sqlmodel import select

    from bot.models import Department

    core = _core(ctx)
    with core.session() as session:
        specs = topic_specs(session)
        from bot.models import Topic

        owners = {
            t.name: d.name
            for t, d in session.exec(select(Topic, Department).join(Department, isouter=True)).all()
            if d
        }
    table = Table("topic", "department", "examples", "description")
    for spec in specs:
        table.add_row(
            *map(escape, (spec.name, owners.get(spec.name, "—"))),
            str(len(spec.examples)),
            escape(spec.description),
        )
    console.print(table)


@app.command()
def digest(
    ctx: typer.Context,
    department: Annotated[str, typer.Option(help="Department name.")],
    preview: Annotated[
        bool, typer.Option(help="Render in the terminal instead of posting.")
    ] = False,
    days: Annotated[
        int | None,
        typer.Option(min=1, max=90, help="The last DAYS days instead of since the last digest."),
    ] = None,
) -> None:
    """Build a department's digest: since its last one, as it would be posted now."""
    if not preview:
        raise fail("no chat platform is configured yet; use --preview to see the digest here")
    import asyncio

    from adapters.console import ConsoleOutbound

    core = _core(ctx)
    with refused(UnknownDepartment):
        target = core.department(department)
    from bot.delivery import due_period

    end = datetime.now(UTC)
    start, end = (end - timedelta(days=days), end) if days else due_period(core, target, end)
    result = core.digest(target, start, end)
    asyncio.run(ConsoleOutbound(console).post_digest(target.channel, result))


def _month(value: str) -> str:
    """A YYYY-MM option, checked."""
    from bot.scoreboard import checked_month

    try:
        return checked_month(value)
    except ValueError as exc:
        raise fail(f"--month: {exc}") from None


Month = Annotated[str, typer.Option(help="The month, YYYY-MM.", metavar="YYYY-MM")]


@app.command()
def assign(ctx: typer.Context, month: Month) -> None:
    """Hand every active executive their quota of complaints for MONTH (once per month).

    With Slack configured each executive gets a direct message; otherwise they are shown here.
    """
    import asyncio

    from bot.programme import assign_month

    month = _month(month)
    core = _core(ctx)
    today = datetime.now(UTC).date()
    done = asyncio.run(assign_month(core, outbound_for(core), month, today))
    console.print(
        f"assigned {done} complaints for {month}"
        if done
        else f"nothing assigned: {month} was assigned already, or nothing is waiting"
    )


def outbound_for(core: Upside):
    """Where messages go from the command line: Slack when configured, else this terminal."""
    if core.settings.slack_enabled:
        from adapters.slack.app import SlackAdapter

        return SlackAdapter(core).outbound
    from adapters.console import ConsoleOutbound

    return ConsoleOutbound(console)


@execs_app.command("list")
def execs_list(ctx: typer.Context) -> None:
    """List active executives with their quota, home topics and absences."""
    from bot.executives import roster

    table = Table("user", "name", "quota", "home topics and departments", "away")
    for boss in roster(_core(ctx)):
        away = (
            f"{boss.out_of_office_from} to {boss.out_of_office_until}"
            if boss.out_of_office_from
            else ""
        )
        homes = ", ".join([*boss.home_topics, *boss.home_departments])
        table.add_row(escape(boss.user_id), escape(boss.name), str(boss.quota), escape(homes), away)
    console.print(table)


@execs_app.command("add")
def execs_add(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Their Slack (or Teams) user id, e.g. U0123ABCD.")],
    name: Annotated[str | None, typer.Option(help="How they are named.")] = None,
    quota: Annotated[
        int | None, typer.Option(min=0, help="Complaints a month (default 3).")
    ] = None,
    topics: Annotated[str | None, typer.Option(help="Home topics, comma-separated.")] = None,
    departments: Annotated[
        str | None, typer.Option(help="Home departments, comma-separated.")
    ] = None,
) -> None:
    """Add an executive, or change one; home topics and departments are preferred, not exclusive."""
    from bot.commands import name_list
    from bot.executives import enrol

    with refused(LookupError, ValueError):
        boss = enrol(_core(ctx), user, name, quota, name_list(topics), name_list(departments))
    console.print(
        f"{escape(boss.name)} ({escape(boss.user_id)}) is an executive, {boss.quota} a month"
    )


@execs_app.command("away")
def execs_away(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Their user id.")],
    start: Annotated[datetime, typer.Argument(formats=["%Y-%m-%d"], help="First day away.")],
    end: Annotated[datetime, typer.Argument(formats=["%Y-%m-%d"], help="Last day away.")],
) -> None:
    """Mark an executive out of office: no assignments, reminders or nudges meanwhile."""
    from bot.executives import set_away

    with refused(LookupError, ValueError):
        set_away(_core(ctx), user, start.date(), end.date())
    console.print(f"{escape(user)} is away {start:%Y-%m-%d} to {end:%Y-%m-%d}")


@execs_app.command("back")
def execs_back(
    ctx: typer.Context, user: Annotated[str, typer.Argument(help="Their user id.")]
) -> None:
    """Clear an executive's absence."""
    from bot.executives import set_away

    with refused(LookupError):
        set_away(_core(ctx), user, None, None)
    console.print(f"{escape(user)} is back")


@execs_app.command("remove")
def execs_remove(
    ctx: typer.Context, user: Annotated[str, typer.Argument(help="Their user id.")]
) -> None:
    """Take an executive off the programme; their open complaints go back to the queue."""
    from bot.executives import retire

    with refused(LookupError):
        handed_back = retire(_core(ctx), user)
    console.print(
        f"{escape(user)} is no longer an executive; their record stays and their "
        f"{handed_back} open complaint(s) are back in the queue"
    )


@execs_app.command("scoreboard")
def execs_scoreboard(
    ctx: typer.Context,
    month: Annotated[
        str | None, typer.Option(help="The month, YYYY-MM (default: this one).", metavar="YYYY-MM")
    ] = None,
) -> None:
    """Show a month's scoreboard: assigned, resolved and median time to resolve, per executive."""
    from adapters.console import render_scoreboard
    from bot.scoreboard import scoreboard

    month = _month(month) if month else datetime.now(UTC).strftime("%Y-%m")
    console.print(render_scoreboard(month, scoreboard(_core(ctx), month)))


@app.command()
def demo(
    ctx: typer.Context,
    database: Annotated[Path, typer.Option(help="SQLite file to (re)create.")] = Path(
        "upside-demo.db"
    ),
) -> None:
    """Run Upside end to end offline on the bundled sample feedback."""
    from bot.demo import run_demo

    settings: Settings = ctx.obj
    run_demo(
        settings.model_copy(update={"database_url": f"sqlite:///{database}"}), database, console
    )


@app.command()
def serve(ctx: typer.Context) -> None:
    """Run the web server: webhook, Slack, health, and the classification worker."""
    from aiohttp import web

    from bot.server import create_app

    core = _core(ctx)
    application = create_app(core)
    mount_adapters(application, core)
    web.run_app(application, host=core.settings.host, port=core.settings.port)


def scheduling(core: Upside, outbound):
    """A cleanup context running the digest scheduler while the server runs."""
    import asyncio
    import contextlib

    from bot.scheduler import DigestScheduler

    async def context(_app):
        task = asyncio.create_task(DigestScheduler(core, outbound).run())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return context


def mount_adapters(application, core: Upside):
    """Attach every configured channel adapter to the web app; returns the Slack adapter."""
    from adapters import webhook

    webhook.register(application, core)
    if core.settings.webhook_token is None:
        console.print("[yellow]UPSIDE_WEBHOOK_TOKEN is unset: the webhook refuses every call[/]")
    if not core.settings.slack_enabled:
        console.print("[yellow]Slack is off: set UPSIDE_SLACK_BOT_TOKEN and _SIGNING_SECRET[/]")
        return None
    from adapters.slack.app import SlackAdapter

    slack = SlackAdapter(core)
    slack.mount(application)
    application.cleanup_ctx.append(scheduling(core, slack.outbound))
    app_token = core.settings.slack_app_token
    if app_token is not None:
        application.cleanup_ctx.append(slack.socket_mode(app_token.get_secret_value()))
    return slack
