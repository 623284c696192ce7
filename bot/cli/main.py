"""The `upside` commands: each reads settings, builds the core and calls into it.

Each command imports what it needs when it runs, so `upside --help` and the commands
that never classify answer without loading the database and model stacks.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from bot.cli.evaluate import eval_app
from bot.cli.output import console, fail, refused
from bot.ports import PLATFORMS, Address

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import Upside

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
teams_app = typer.Typer(help="Microsoft Teams: the app package.", no_args_is_help=True)
app.add_typer(teams_app, name="teams")


@app.callback()
def main(ctx: typer.Context) -> None:
    """Read settings once; an invalid setting stops here, naming the variable."""
    from bot.config import ConfigError, load_settings

    with refused(ConfigError):
        settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    if settings.log_level != "DEBUG":  # migrations at start-up are routine, not news
        logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = settings


def _core(ctx: typer.Context, create: bool = False) -> Upside:
    """The core on a reachable database, migrated; one never initialised only with `create`."""
    from bot.cli.startup import open_core

    return open_core(ctx.obj, create)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending migrations to the configured database."""
    _core(ctx, create=True)
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
    from bot.intake.topics import ConfigFileError, apply_topics_file, read_topics_file

    with refused(ConfigFileError):
        topics_file = read_topics_file(config)
    core = _core(ctx, create=True)
    with core.session() as session:
        departments, topics = apply_topics_file(session, topics_file)
    console.print(f"[green]ready:[/] {departments} departments and {topics} topics loaded")


ColumnOption = Annotated[
    str | None, typer.Option(help="The column (or JSON key) to read, in any case.")
]


@app.command("import")
def import_file(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".csv, .tsv or .jsonl")],
    source: Annotated[str | None, typer.Option(help="Source for rows that name none.")] = None,
    classify: Annotated[bool, typer.Option(help="Classify the new items afterwards.")] = True,
    text_column: ColumnOption = None,
    id_column: ColumnOption = None,
    author_column: ColumnOption = None,
    date_column: ColumnOption = None,
    link_column: ColumnOption = None,
) -> None:
    """Import feedback from CSV, TSV or JSONL in any encoding; reports every bad row.

    Columns are found by their usual names in any case (text, comment, body, message,
    feedback, review or content for the words); name one with --text-column and the like.
    """
    from adapters.importer import ImportFormatError
    from bot.cli.feed import classify_pending, import_feedback, print_import_summary

    named = {
        "text": text_column,
        "external_id": id_column,
        "author": author_column,
        "created_at": date_column,
        "link": link_column,
    }
    if classify:
        from bot.cli.startup import check_model_settings

        check_model_settings(ctx.obj)
    core = _core(ctx)
    with refused(ImportFormatError):
        summary = import_feedback(core, file, source, {k: v for k, v in named.items() if v})
    print_import_summary(summary)
    if classify:
        classify_pending(core)


@app.command()
def classify(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="Texts to classify.")],
) -> None:
    """Classify texts against the configured topics; nothing is stored."""
    from rich.table import Table

    from bot.cli.startup import check_model_settings
    from bot.intake.ingest import text_problem
    from classifiers import Classifier

    for number, text in enumerate(texts, start=1):
        if text_problem(text):  # the shell passed bytes that are not UTF-8
            raise fail(f"text {number} is not valid UTF-8; pass text in UTF-8")
    check_model_settings(ctx.obj)
    core = _core(ctx)
    with console.status("loading the model"):
        worker = core.worker
    table = Table("text", "language", "sentiment", "score", "sure", "topic", "confidence")
    for text, label in zip(texts, worker.classifier.classify(texts), strict=True):
        sure = "yes" if Classifier.sure(label) else "no"
        feeling = (label.sentiment, f"{label.sentiment_score:+.2f}", sure)
        table.add_row(
            escape(text),
            label.language,
            *(feeling if label.readable else ("not read", "", "")),
            escape(label.topic or "—"),
            f"{label.topic_confidence:.2f}",
        )
    console.print(table)
    console.print(
        f"[dim]model {worker.classifier.version}. sure: quoted as a cheer or a jeer in digests; "
        "not read: a language the model does not read, so no feeling is given[/]"
    )


@app.command()
def reclassify(ctx: typer.Context) -> None:
    """Label the stored catalogue again after topics change; hand-labelled items stay."""
    from rich.progress import Progress

    from bot.cli.startup import check_model_settings

    check_model_settings(ctx.obj)
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
    from rich.table import Table
    from sqlmodel import select

    from bot.intake.topics import topic_specs
    from bot.models import Department, Topic

    core = _core(ctx)
    with core.session() as session:
        specs = topic_specs(session)
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
    from bot.core import UnknownDepartment
    from bot.digests.delivery import due_period

    core = _core(ctx)
    with refused(UnknownDepartment):
        target = core.department(department)

    end = datetime.now(UTC)
    start, end = (end - timedelta(days=days), end) if days else due_period(core, target, end)
    result = core.digest(target, start, end)
    asyncio.run(ConsoleOutbound(console).post_digest(target.address, result))


def _month(value: str) -> str:
    """A YYYY-MM option, checked."""
    from bot.executives.scoreboard import checked_month

    try:
        return checked_month(value)
    except ValueError as exc:
        raise fail(f"--month: {exc}") from None


Platform = StrEnum("Platform", {name: name for name in PLATFORMS})
PlatformOption = Annotated[Platform, typer.Option(help="Where the person is.")]
Month = Annotated[str, typer.Option(help="The month, YYYY-MM.", metavar="YYYY-MM")]


@app.command()
def assign(
    ctx: typer.Context,
    month: Month,
    force: Annotated[
        bool, typer.Option(help="Assign a month more than one month from this one.")
    ] = False,
) -> None:
    """Hand every active executive their quota of complaints for MONTH (once per month).

    With Slack configured each executive gets a direct message; otherwise they are shown here.
    A month with no eligible executive or no waiting complaint stays open.
    """
    import asyncio

    from bot.cli.wiring import outbound_for
    from bot.executives.programme import assign_month

    month = _month(month)
    today = datetime.now(UTC).date()
    year, number = map(int, month.split("-"))
    if abs((year - today.year) * 12 + number - today.month) > 1 and not force:
        raise fail(f"--month: {month} is more than a month from now; add --force to assign it")
    core = _core(ctx)
    done = asyncio.run(assign_month(core, outbound_for(core), month, today))
    console.print(
        f"assigned {done} complaints for {month}"
        if done
        else f"nothing assigned: {month} was assigned already, or no executive is eligible "
        "or no complaint is waiting (the month stays open)"
    )


@app.command()
def status(ctx: typer.Context) -> None:
    """What needs an admin: places Upside cannot post to, why, which digests wait, and
    feedback set aside because its classification keeps failing."""
    from bot.digests.holds import needs_attention
    from bot.intake.worker import MAX_ATTEMPTS, set_aside

    core = _core(ctx)
    aside = set_aside(core.engine)
    if aside.count:
        console.print(
            f"[yellow]{aside.count} item(s) set aside:[/] classification failed "
            f"{MAX_ATTEMPTS} times; the latest, item {aside.latest_id}: "
            f"{escape(aside.latest_error or '')}"
        )
    concerns = needs_attention(core)
    if not concerns:
        console.print("[green]every delivery is running[/]")
        return
    console.print("[yellow]needs attention:[/] these deliveries are held until an admin acts")
    for concern in concerns:
        console.print(f"{concern.since:%Y-%m-%d %H:%M} UTC  {escape(concern.describe())}")


@execs_app.command("list")
def execs_list(ctx: typer.Context) -> None:
    """List active executives with their quota, home topics and absences."""
    from rich.table import Table

    from bot.executives.roster import roster

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
    user: Annotated[
        str, typer.Argument(help="Their Slack user id (U0123ABCD) or Teams Entra object id.")
    ],
    platform: PlatformOption = Platform.slack,
    workspace: Annotated[
        str, typer.Option(help="Their Slack team id or Teams tenant id, where there are several.")
    ] = "",
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
    from bot.executives.roster import enrol

    with refused(LookupError, ValueError):
        boss = enrol(
            _core(ctx),
            Address(platform.value, user, workspace),
            name,
            quota,
            name_list(topics),
            name_list(departments),
        )
    console.print(
        f"{escape(boss.name)} ({escape(boss.user_id)}) is an executive, {boss.quota} a month"
    )


@execs_app.command("away")
def execs_away(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Their user id.")],
    start: Annotated[datetime, typer.Argument(formats=["%Y-%m-%d"], help="First day away.")],
    end: Annotated[datetime, typer.Argument(formats=["%Y-%m-%d"], help="Last day away.")],
    platform: PlatformOption = Platform.slack,
) -> None:
    """Mark an executive out of office: no assignments, reminders or nudges meanwhile."""
    from bot.executives.roster import set_away

    with refused(LookupError, ValueError):
        set_away(_core(ctx), Address(platform.value, user), start.date(), end.date())
    console.print(f"{escape(user)} is away {start:%Y-%m-%d} to {end:%Y-%m-%d}")


@execs_app.command("back")
def execs_back(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Their user id.")],
    platform: PlatformOption = Platform.slack,
) -> None:
    """Clear an executive's absence."""
    from bot.executives.roster import set_away

    with refused(LookupError):
        set_away(_core(ctx), Address(platform.value, user), None, None)
    console.print(f"{escape(user)} is back")


@execs_app.command("remove")
def execs_remove(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="Their user id.")],
    platform: PlatformOption = Platform.slack,
) -> None:
    """Take an executive off the programme; their open complaints go back to the queue."""
    from bot.executives.roster import retire

    with refused(LookupError):
        handed_back = retire(_core(ctx), Address(platform.value, user))
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
    from bot.executives.scoreboard import scoreboard

    month = _month(month) if month else datetime.now(UTC).strftime("%Y-%m")
    console.print(render_scoreboard(month, scoreboard(_core(ctx), month)))


@teams_app.command("package")
def teams_package(
    ctx: typer.Context,
    host: Annotated[
        str,
        typer.Option(help="The public host name Teams reaches Upside at, e.g. bot.example.com."),
    ],
    out: Annotated[Path, typer.Option(help="Where to write the zip.")] = Path("upside-teams.zip"),
) -> None:
    """Write the Teams app package (manifest and icons) for the configured app id, to upload."""
    from adapters.teams.package import build_package

    settings: Settings = ctx.obj
    if not settings.teams_app_id:
        raise fail("set UPSIDE_TEAMS_APP_ID (the Azure Bot's app id) first")
    with refused(ValueError):
        written = build_package(settings.teams_app_id, host, out)
    console.print(f"wrote {escape(str(written))}: upload it in Teams (Apps → Manage your apps)")


@app.command()
def demo(
    ctx: typer.Context,
    database: Annotated[Path, typer.Option(help="SQLite file to (re)create.")] = Path(
        "upside-demo.db"
    ),
) -> None:
    """Run Upside end to end offline on the bundled sample feedback."""
    from bot.cli.demo import NotADemo, run_demo

    settings: Settings = ctx.obj
    with refused(NotADemo):
        run_demo(
            settings.model_copy(update={"database_url": f"sqlite:///{database}"}),
            database,
            console,
        )


@app.command()
def serve(
    ctx: typer.Context,
    web_only: Annotated[
        bool | None,
        typer.Option(
            "--web-only/--with-worker",
            help="Only answer requests; `upside worker` classifies and schedules "
            "[default: UPSIDE_WEB_ONLY, else with the worker].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Run the web server: webhook, Slack, Teams, health, and (unless --web-only) the
    classification worker and the scheduler."""
    from aiohttp import web

    from bot.cli.startup import check_bindable, check_model_settings
    from bot.cli.wiring import mount_adapters
    from bot.server import create_app

    check_bindable(ctx.obj.host, ctx.obj.port)
    check_model_settings(ctx.obj)
    core = _core(ctx, create=True)
    alone = core.settings.web_only if web_only is None else web_only
    application = create_app(core, classify=not alone)
    mount_adapters(application, core, schedule=not alone)
    web.run_app(application, host=core.settings.host, port=core.settings.port)


@app.command()
def worker(ctx: typer.Context) -> None:
    """Classify stored feedback and run the scheduler, beside `upside serve --web-only`.

    Run as many as you like, on any machines sharing the PostgreSQL database: they share
    the backlog, and one at a time schedules. SIGTERM finishes the batch in hand and exits.
    """
    import asyncio

    from bot.cli.wiring import run_worker

    asyncio.run(run_worker(_core(ctx)))
