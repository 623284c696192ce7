"""The `upside` command line, run in-process with typer's CliRunner on a temporary SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from bot.core import Upside
from bot.executives.views import duration
from bot.intake.topics import read_topics_file
from bot.models import ComplaintAssignment, Executive, FeedbackItem
from tests.conftest import make_settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """Environment for the CLI on a fresh SQLite file; no `.env` is read."""
    monkeypatch.chdir(tmp_path)
    return {
        "UPSIDE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "COLUMNS": "200",  # rich would wrap table rows at 80
        "FORCE_COLOR": None,
    }


def invoke(env: dict[str, str | None], *args: str, code: int = 0) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result


def lines_with(output: str, *words: str) -> list[str]:
    return [line for line in output.splitlines() if all(word in line for word in words)]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["init"],
        ["import"],
        ["classify"],
        ["topics"],
        ["topics", "list"],
        ["digest"],
        ["demo"],
        ["serve"],
        ["db"],
        ["db", "upgrade"],
        ["eval"],
        ["eval", "sentiment"],
        ["eval", "topics"],
        ["reclassify"],
        ["assign"],
        ["execs"],
        ["execs", "list"],
        ["execs", "add"],
        ["execs", "away"],
        ["execs", "back"],
        ["execs", "remove"],
        ["execs", "scoreboard"],
    ],
    ids=lambda command: " ".join(command) or "upside",
)
def test_every_command_answers_help(env, command: list[str]) -> None:
    result = invoke(env, *command, "--help")
    assert "Usage:" in result.output
    assert " ".join(["upside", *command][1:]) in result.output
    assert not Path("cli.db").exists()  # asking for help touches no database


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("UPSIDE_TOPIC_THRESHOLD", "2"),
        ("UPSIDE_DATABASE_URL", "mysql://x"),
        ("UPSIDE_PORT", "0"),
        ("UPSIDE_PHONE_REGIONS", "US,XX"),
        ("UPSIDE_LOG_LEVEL", "LOUD"),
    ],
)
def test_an_invalid_setting_stops_naming_the_variable(env, variable, value) -> None:
    result = invoke({**env, variable: value}, "topics", "list", code=2)
    assert "invalid setting" in result.output
    assert variable in result.output
    assert not Path("cli.db").exists()


def test_init_loads_the_starter_topics_and_departments(env) -> None:
    result = invoke(env, "init")
    assert "7 departments and 8 topics loaded" in result.output
    listing = invoke(env, "topics", "list").output
    starter = read_topics_file()
    assert len(starter.topics) == 8
    for topic in starter.topics:
        rows = lines_with(listing, topic.name, topic.department, f" {len(topic.examples)} ")
        assert len(rows) == 1, f"{topic.name} / {topic.department} not listed:\n{listing}"


def test_init_again_is_harmless(env) -> None:
    invoke(env, "init")
    invoke(env, "init")
    listing = invoke(env, "topics", "list").output
    assert len(lines_with(listing, "Delivery", "Logistics")) == 1


CUSTOM = """
[[departments]]
name = "Kitchen"
channel = "#voice-kitchen"
timezone = "Europe/Paris"

[[departments]]
name = "Garden"
channel = "#voice-garden"
timezone = "Australia/Sydney"
digest_time = "07:30"

[[topics]]
name = "Cutlery"
department = "Kitchen"
description = "Knives, forks and spoons"
examples = ["the knives went rusty", "lovely heavy forks"]

[[topics]]
name = "Lawnmowers"
department = "Garden"
description = "Mowers that will not start or cut unevenly"
examples = ["mower will not start", "blade came loose", "cuts beautifully"]
"""


def test_init_with_a_custom_config(env, tmp_path) -> None:
    config = tmp_path / "northwind.toml"
    config.write_text(CUSTOM, encoding="utf-8")
    result = invoke(env, "init", "--config", str(config))
    assert "2 departments and 2 topics loaded" in result.output
    listing = invoke(env, "topics", "list").output
    assert len(lines_with(listing, "Cutlery", "Kitchen", " 2 ")) == 1
    assert len(lines_with(listing, "Lawnmowers", "Garden", " 3 ")) == 1
    assert "Delivery" not in listing
    unknown = invoke(env, "digest", "--department", "Logistics", "--preview", code=2)
    assert "known: Garden, Kitchen" in unknown.output


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            CUSTOM.replace('department = "Garden"', 'department = "Shed"'),
            "topics name undefined departments: Shed",
        ),
        (
            CUSTOM.replace("Australia/Sydney", "Mars/Olympus_Mons"),
            "unknown time zone 'Mars/Olympus_Mons'",
        ),
        (CUSTOM.replace('"07:30"', '"7.30pm"'), "digest_time"),
        (CUSTOM.replace("[[topics]]", "[[topics]", 1), "northwind.toml"),
        (CUSTOM.replace("Europe/Paris", "[/Paris]"), "unknown time zone '[/Paris]'"),
    ],
    ids=["undefined-department", "bad-timezone", "bad-digest-time", "not-toml", "markup"],
)
def test_init_refuses_a_bad_config(env, tmp_path, broken: str, message: str) -> None:
    config = tmp_path / "northwind.toml"
    config.write_text(broken, encoding="utf-8")
    result = invoke(env, "init", "--config", str(config), code=2)
    assert "error:" in result.output
    assert message in result.output
    assert not Path("cli.db").exists()  # nothing is created from a bad file


def test_classify_prints_each_texts_sentiment(env) -> None:
    invoke(env, "init")
    result = invoke(
        env,
        "classify",
        "My parcel never arrived and nobody answers the phone",
        "Thank you, the courier was brilliant and the parcel came early!",
        "The price was [sic] higher than the [b]shelf[/b] label",
        "Mein Paket ist nie angekommen und niemand geht ans Telefon",
    )
    [complaint] = lines_with(result.output, "nobody answers the phone")
    [praise] = lines_with(result.output, "came early")
    assert "negative" in complaint and " en " in complaint
    assert "positive" in praise and "yes" in praise  # sure enough to quote as a cheer
    [german] = lines_with(result.output, "Mein Paket")
    assert " de " in german and "not read" in german
    # customers' words are printed as written, never read as rich markup
    assert lines_with(result.output, "The price was [sic] higher than the [b]shelf[/b] label")
    assert "model upside-sentiment-int8-" in result.output


def test_digest_preview_shows_redacted_quotes(env, tmp_path) -> None:
    invoke(env, "init")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    feedback = tmp_path / "recent.jsonl"
    feedback.write_text(
        json.dumps(
            {
                "id": "ZD-7",
                "source": "zendesk",
                "text": "Parcel lost again. Email me at sam.lee@example.com or call "
                "07700 900123, this is the third time the courier lost it.",
                "created_at": yesterday,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    invoke(env, "import", str(feedback))
    result = invoke(env, "digest", "--department", "Logistics", "--preview", "--days", "30")
    output = result.output
    assert "Logistics" in output
    assert "#voice-logistics" in output
    assert "Parcel lost again. Email me at [email] or call [phone], this is the third" in output
    assert "sam.lee" not in output
    assert "example.com" not in output
    assert "900123" not in output


def test_digest_for_an_unknown_department_lists_the_known_ones(env) -> None:
    invoke(env, "init")
    result = invoke(env, "digest", "--department", "Astronauts", "--preview", code=2)
    assert "no department 'Astronauts'" in result.output
    for department in read_topics_file().departments:
        assert department.name in result.output


def test_digest_without_preview_says_why(env) -> None:
    invoke(env, "init")
    result = invoke(env, "digest", "--department", "Logistics", code=2)
    assert "--preview" in result.output
    assert "no chat platform is configured" in result.output


def test_assign_checks_the_month_and_runs_once(env):
    invoke(env, "init")
    assert "looks like 2026-12" in invoke(env, "assign", "--month", "2026-13", code=2).output
    this_month = datetime.now(UTC).strftime("%Y-%m")  # a far month needs --force
    first = invoke(env, "assign", "--month", this_month).output
    assert "nothing assigned" in first  # no executives and no complaints yet


def stored(env: dict[str, str | None]) -> Upside:
    """The CLI's database, opened directly (no migration: the CLI has made it)."""
    return Upside(make_settings(env["UPSIDE_DATABASE_URL"]))


def executives(env: dict[str, str | None]) -> dict[str, Executive]:
    """Every executive row, active or not, by user id."""
    core = stored(env)
    with core.session() as session:
        rows = {boss.user_id: boss for boss in session.exec(select(Executive))}
    core.engine.dispose()
    return rows


def cells(output: str, *words: str) -> list[str]:
    """The cells of the one table row that holds all of `words`."""
    [row] = lines_with(output, *words)
    return [cell.strip() for cell in row.split("│")[1:-1]]


def test_execs_add_lists_the_executive_with_quota_and_homes(env) -> None:
    invoke(env, "init")
    added = invoke(
        env,
        "execs",
        "add",
        "U0ANN",
        "--name",
        "Ann Lee",
        "--quota",
        "4",
        "--topics",
        "Delivery, Returns & refunds",
        "--departments",
        "Billing",
    )
    assert "Ann Lee (U0ANN) is an executive, 4 a month" in added.output
    invoke(env, "execs", "add", "U0BOB")  # name and quota default
    listing = invoke(env, "execs", "list").output
    assert cells(listing, "U0ANN") == [
        "U0ANN",
        "Ann Lee",
        "4",
        "Delivery, Returns & refunds, Billing",
        "",
    ]
    assert cells(listing, "U0BOB") == ["U0BOB", "U0BOB", "3", "", ""]
    ann = executives(env)["U0ANN"]
    assert ann.home_topics == ["Delivery", "Returns & refunds"]
    assert ann.home_departments == ["Billing"]
    assert ann.active


def test_execs_add_again_changes_only_what_is_given(env) -> None:
    invoke(env, "init")
    invoke(env, "execs", "add", "U0ANN", "--name", "Ann", "--quota", "2", "--topics", "Delivery")
    changed = invoke(env, "execs", "add", "U0ANN", "--quota", "5")
    assert "Ann (U0ANN) is an executive, 5 a month" in changed.output
    listing = invoke(env, "execs", "list").output
    assert cells(listing, "U0ANN") == ["U0ANN", "Ann", "5", "Delivery", ""]
    assert list(executives(env)) == ["U0ANN"]  # changed, not added twice
    invoke(env, "execs", "add", "U0ANN", "--topics", "", "--departments", "Stores")
    assert cells(invoke(env, "execs", "list").output, "U0ANN") == [
        "U0ANN",
        "Ann",
        "5",
        "Stores",
        "",
    ]


@pytest.mark.parametrize(
    ("option", "names", "message"),
    [
        ("--topics", "Delivery,Teleportation", "no topic called Teleportation"),
        ("--topics", "Logistics", "no topic called Logistics"),  # a department, not a topic
        ("--departments", "Billing,Moon Base,Mars", "no department called Moon Base, Mars"),
    ],
)
def test_execs_add_refuses_unknown_homes(env, option: str, names: str, message: str) -> None:
    invoke(env, "init")
    result = invoke(env, "execs", "add", "U0ANN", option, names, code=2)
    assert "error:" in result.output
    assert message in result.output
    assert executives(env) == {}  # nothing half-stored


def test_execs_add_refuses_a_negative_quota(env) -> None:
    invoke(env, "init")
    result = invoke(env, "execs", "add", "U0ANN", "--quota", "-1", code=2)
    assert "--quota" in result.output
    assert not lines_with(invoke(env, "execs", "list").output, "U0ANN")


def test_execs_away_and_back(env) -> None:
    invoke(env, "init")
    invoke(env, "execs", "add", "U0ANN", "--name", "Ann")
    away = invoke(env, "execs", "away", "U0ANN", "2026-11-02", "2026-11-06")
    assert "U0ANN is away 2026-11-02 to 2026-11-06" in away.output
    assert cells(invoke(env, "execs", "list").output, "U0ANN")[-1] == "2026-11-02 to 2026-11-06"
    ann = executives(env)["U0ANN"]
    assert (str(ann.out_of_office_from), str(ann.out_of_office_until)) == (
        "2026-11-02",
        "2026-11-06",
    )

    backwards = invoke(env, "execs", "away", "U0ANN", "2026-11-06", "2026-11-02", code=2)
    assert "the absence ends (2026-11-02) before it starts (2026-11-06)" in backwards.output
    assert executives(env)["U0ANN"].out_of_office_until == ann.out_of_office_until  # unchanged

    assert "U0ANN is back" in invoke(env, "execs", "back", "U0ANN").output
    assert cells(invoke(env, "execs", "list").output, "U0ANN")[-1] == ""
    ann = executives(env)["U0ANN"]
    assert ann.out_of_office_from is None
    assert ann.out_of_office_until is None


def test_execs_away_refuses_a_date_that_is_not_a_day(env) -> None:
    invoke(env, "init")
    invoke(env, "execs", "add", "U0ANN")
    result = invoke(env, "execs", "away", "U0ANN", "2026-02-30", "2026-03-02", code=2)
    assert "2026-02-30" in result.output
    assert executives(env)["U0ANN"].out_of_office_from is None


@pytest.mark.parametrize(
    "command",
    [
        ["away", "U0NOBODY", "2026-11-02", "2026-11-06"],
        ["back", "U0NOBODY"],
        ["remove", "U0NOBODY"],
    ],
    ids=["away", "back", "remove"],
)
def test_execs_commands_for_an_unknown_user_say_so(env, command: list[str]) -> None:
    invoke(env, "init")
    invoke(env, "execs", "add", "U0ANN")
    result = invoke(env, "execs", *command, code=2)
    assert "error: U0NOBODY is not an executive." in result.output
    assert list(executives(env)) == ["U0ANN"]


def test_execs_remove_keeps_the_record(env) -> None:
    invoke(env, "init")
    invoke(env, "execs", "add", "U0ANN", "--name", "Ann", "--quota", "4", "--topics", "Delivery")
    invoke(env, "execs", "add", "U0BOB", "--name", "Bob")
    removed = invoke(env, "execs", "remove", "U0ANN")
    assert "U0ANN is no longer an executive; their record stays" in removed.output
    listing = invoke(env, "execs", "list").output
    assert not lines_with(listing, "U0ANN")
    assert lines_with(listing, "U0BOB", "Bob")
    ann = executives(env)["U0ANN"]
    assert not ann.active
    assert (ann.name, ann.quota, ann.home_topics) == ("Ann", 4, ["Delivery"])
    # removed once is not an executive any more; adding again brings them back as they were
    again = invoke(env, "execs", "remove", "U0ANN", code=2)
    assert "U0ANN is not an executive." in again.output
    invoke(env, "execs", "add", "U0ANN")
    assert cells(invoke(env, "execs", "list").output, "U0ANN") == [
        "U0ANN",
        "Ann",
        "4",
        "Delivery",
        "",
    ]


def test_execs_scoreboard_defaults_to_this_month_and_checks_the_month(env) -> None:
    invoke(env, "init")
    invoke(env, "execs", "add", "U0ANN", "--name", "Ann")
    month = datetime.now(UTC).strftime("%Y-%m")
    board = invoke(env, "execs", "scoreboard").output
    assert f"Executive complaints scoreboard, {month}" in board
    assert cells(board, "Ann") == ["Ann", "0", "0", "0", "0", "—"]
    for bad in ("2026-13", "2026-1", "October"):
        result = invoke(env, "execs", "scoreboard", "--month", bad, code=2)
        assert f"--month: a month looks like 2026-12, not '{bad}'" in result.output


def test_execs_scoreboard_counts_a_months_assignments(env) -> None:
    invoke(env, "init")
    for user, name in [("U0ANN", "Ann"), ("U0BOB", "Bob"), ("U0CY", "Cy"), ("U0DEE", "Dee")]:
        invoke(env, "execs", "add", user, "--name", name)
    invoke(env, "execs", "add", "U0EVE", "--name", "Eve")
    invoke(env, "execs", "remove", "U0DEE")  # removed and held nothing: left out
    start = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    # (executive, status, hours to resolve, month)
    steps = [
        ("U0ANN", "resolved", 4, "2026-10"),
        ("U0ANN", "resolved", 6, "2026-10"),
        ("U0ANN", "assigned", None, "2026-10"),
        ("U0ANN", "released", None, "2026-10"),
        ("U0ANN", "resolved", 0.75, "2026-09"),  # another month
        ("U0BOB", "resolved", 60, "2026-10"),
        ("U0BOB", "released", None, "2026-10"),
        ("U0EVE", "assigned", None, "2026-10"),
    ]
    core = stored(env)
    with core.session() as session:
        ids = {b.user_id: b.id for b in session.exec(select(Executive))}
        for number, (user, status, hours, month) in enumerate(steps):
            item = FeedbackItem(
                source="zendesk",
                external_id=f"ZD-{number}",
                text=f"complaint {number}",
                display_text=f"complaint {number}",
                created_at=start - 24 * hour,
                sentiment="negative",
                sentiment_score=-0.9,
            )
            session.add(item)
            session.flush()
            session.add(
                ComplaintAssignment(
                    feedback_id=item.id,
                    executive_id=ids[user],
                    month=month,
                    status=status,
                    origin="monthly",
                    assigned_at=start,
                    resolved_at=start + hours * hour if hours else None,
                    released_at=start + 2 * hour if status == "released" else None,
                )
            )
    core.engine.dispose()
    invoke(env, "execs", "remove", "U0EVE")  # removed, but held a complaint in October: shown

    board = invoke(env, "execs", "scoreboard", "--month", "2026-10").output
    assert "Executive complaints scoreboard, 2026-10" in board
    assert duration(5 * hour) == "5 h"
    assert duration(60 * hour) == "2.5 days"
    # executive, assigned, resolved, open, released, median to resolve
    assert cells(board, "Ann") == ["Ann", "4", "2", "1", "1", "5 h"]
    assert cells(board, "Bob") == ["Bob", "2", "1", "0", "1", "2.5 days"]
    assert cells(board, "Cy") == ["Cy", "0", "0", "0", "0", "—"]
    assert cells(board, "Eve") == ["Eve", "1", "0", "0", "1", "—"]  # handed back on removal
    assert not lines_with(board, "Dee")
    rows = [line.split("│")[1].strip() for line in board.splitlines() if line.count("│") > 2]
    assert rows == ["Ann", "Bob", "Cy", "Eve"]  # most resolved first, then by name

    september = invoke(env, "execs", "scoreboard", "--month", "2026-09").output
    assert cells(september, "Ann") == ["Ann", "1", "1", "0", "0", "45 min"]
    assert not lines_with(september, "Eve")


def test_execs_names_are_printed_as_written(env) -> None:
    invoke(env, "init")
    invoke(env, "execs", "add", "U0ANN", "--name", "Ann [b]Boss[/b] [CEO]")
    invoke(env, "execs", "add", "U0BOB", "--name", "Bob [/]")
    listing = invoke(env, "execs", "list").output
    assert cells(listing, "U0ANN")[1] == "Ann [b]Boss[/b] [CEO]"
    assert cells(listing, "U0BOB")[1] == "Bob [/]"
    board = invoke(env, "execs", "scoreboard", "--month", "2026-10").output
    assert lines_with(board, "Ann [b]Boss[/b] [CEO]")
    assert lines_with(board, "Bob [/]")
