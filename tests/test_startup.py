"""Start-up and configuration failures: one line naming the setting, exit 2, nothing made."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import CUSTOM, env, executives, invoke  # noqa: F401  (env is a fixture)


def test_commands_on_a_database_never_initialised_say_to_run_init(env) -> None:  # noqa: F811
    for command in (["topics", "list"], ["classify", "late parcel"], ["execs", "list"]):
        result = invoke(env, *command, code=2)
        assert "run `upside init` first" in result.output
    assert not Path("cli.db").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopgg://u@127.0.0.1/x", "UPSIDE_DATABASE_URL: cannot use"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/x", "UPSIDE_DATABASE_URL: cannot connect"),
        ("sqlite:////no/such/directory/u.db", "UPSIDE_DATABASE_URL: cannot connect"),
    ],
    ids=["misspelt-driver", "unreachable", "no-directory"],
)
def test_an_unusable_database_url_is_one_line(env, url: str, expected: str) -> None:  # noqa: F811
    result = invoke({**env, "UPSIDE_DATABASE_URL": url}, "init", code=2)
    assert expected in result.output
    assert "Traceback" not in result.output and "secret" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unusable_cache_or_model_dir_is_named(env, tmp_path) -> None:  # noqa: F811
    invoke(env, "init")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache = invoke({**env, "UPSIDE_CACHE_DIR": str(blocker / "cache")}, "classify", "hi", code=2)
    assert "UPSIDE_CACHE_DIR" in cache.output
    model = invoke(
        {**env, "UPSIDE_MODEL_DIR": str(tmp_path / "nope" / "x")}, "classify", "hi", code=2
    )
    assert "UPSIDE_MODEL_DIR" in model.output


def test_serve_refuses_a_port_in_use_and_a_bad_host(env) -> None:  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = invoke({**env, "UPSIDE_HOST": "127.0.0.1", "UPSIDE_PORT": port}, "serve", code=2)
    assert f"UPSIDE_PORT: cannot listen on 127.0.0.1:{port}" in busy.output
    host = invoke({**env, "UPSIDE_HOST": "0.0.0.0:8080"}, "serve", code=2)
    assert "UPSIDE_HOST" in host.output
    assert not Path("cli.db").exists()  # refused before the database and the model


def test_classify_refuses_text_that_is_not_utf8(env) -> None:  # noqa: F811
    invoke(env, "init")
    result = invoke(env, "classify", "caf\udce9 was cold", code=2)
    assert "text 1 is not valid UTF-8" in result.output


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (
            CUSTOM.replace('channel = "#voice-garden"', 'chanel = "#voice-garden"'),
            "[[departments]] 2, chanel: unknown key",
        ),
        (
            CUSTOM.replace('name = "Lawnmowers"', 'name = "Cutlery"'),
            "[[topics]] 2: name 'Cutlery' is used by [[topics]] 1 already",
        ),
        (
            CUSTOM.replace('name = "Cutlery"', 'name = "Cutlery "'),
            "[[topics]] 1, name: 'Cutlery ' has spaces at the start or end",
        ),
        (CUSTOM.replace('name = "Kitchen"', 'name = ""'), "[[departments]] 1, name:"),
    ],
    ids=["unknown-key", "duplicate", "stray-space", "empty"],
)
def test_a_topics_file_mistake_is_refused_with_its_place(env, tmp_path, broken, message) -> None:  # noqa: F811
    config = tmp_path / "northwind.toml"
    config.write_text(broken, encoding="utf-8")
    result = invoke(env, "init", "--config", str(config), code=2)
    assert f"northwind.toml: {message}" in result.output
    assert "pydantic" not in result.output and "input_value" not in result.output
    assert not Path("cli.db").exists()


def test_assign_without_executives_leaves_the_month_open(env) -> None:  # noqa: F811
    from datetime import UTC, datetime

    invoke(env, "init")
    month = datetime.now(UTC).strftime("%Y-%m")
    assert "month stays open" in invoke(env, "assign", "--month", month).output
    far = invoke(env, "assign", "--month", f"{datetime.now(UTC).year + 3}-12", code=2)
    assert "add --force" in far.output
    invoke(env, "execs", "add", "U0ANN")
    again = invoke(env, "assign", "--month", month).output
    assert "nothing assigned" in again  # nothing waiting still, but the month was not used up
    from sqlmodel import select

    from bot.models import Notice
    from tests.test_cli import stored

    core = stored(env)
    with core.session() as session:
        assert session.exec(select(Notice).where(Notice.kind == "assignment")).all() == []
    core.engine.dispose()


def test_demo_never_overwrites_a_file_it_did_not_make(env, tmp_path) -> None:  # noqa: F811
    precious = tmp_path / "precious.db"
    precious.write_bytes(b"my accounts")
    result = invoke(env, "demo", "--database", str(precious), code=2)
    assert "was not made by `upside demo`" in result.output
    assert precious.read_bytes() == b"my accounts"


def test_an_executive_needs_an_id(env) -> None:  # noqa: F811
    invoke(env, "init")
    result = invoke(env, "execs", "add", "", code=2)
    assert "error:" in result.output
    assert executives(env) == {}


def test_commands_that_never_classify_never_load_the_model_stack(env) -> None:  # noqa: F811
    """`upside --help`, `status` and the like start in well under a second because the core
    never imports numpy, onnxruntime or tokenizers until something is classified."""
    invoke(env, "init")
    probe = (
        "import sys; from bot.cli import app\n"
        "try:\n    app(['status'])\nexcept SystemExit:\n    pass\n"
        "print(sorted({'numpy', 'onnxruntime', 'tokenizers'} & set(sys.modules)))"
    )
    variables = os.environ | {name: value for name, value in env.items() if value is not None}
    shown = subprocess.run(
        [sys.executable, "-c", probe], env=variables, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip().endswith("[]"), shown.stdout + shown.stderr
