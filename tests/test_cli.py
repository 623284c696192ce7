"""The `upside` command line, run in-process with typer's CliRunner on a temporary SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from bot.cli import app
from bot.topics import read_topics_file

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
    )
    [complaint] = lines_with(result.output, "nobody answers the phone")
    [praise] = lines_with(result.output, "came early")
    assert "negative" in complaint
    assert "positive" in praise
    # customers' words are printed as written, never read as rich markup
    assert lines_with(result.output, "The price was [sic] higher than the [b]shelf[/b] label")
    assert "model all-MiniLM-L6-v2" in result.output


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
    assert "must look like 2026-12" in invoke(env, "assign", "--month", "2026-13", code=2).output
    first = invoke(env, "assign", "--month", "2026-12").output
    assert "nothing assigned" in first  # no executives and no complaints yet
