"""The Teams app package: valid against Microsoft's schema, laid out and drawn as Teams asks."""

from __future__ import annotations

import json
import re
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from PIL import Image
from referencing import Registry

from adapters.teams.package import build_package, manifest
from bot.commands import HELP

APP_ID = "6f1c2b8e-3d4a-4e5f-9a0b-1c2d3e4f5a6b"
HOST = "upside.example.com"
SCHEMAS = Path(__file__).parent / "schemas" / "teams"
# Microsoft documents at most 10 commands per command list, fewer than the schema's 12.
MAX_COMMANDS = 10


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """One package built for the sample app id and host."""
    out = build_package(APP_ID, HOST, tmp_path_factory.mktemp("teams") / "upside.zip")
    return zipfile.ZipFile(out)


@pytest.fixture(scope="module")
def document(package: zipfile.ZipFile) -> dict[str, Any]:
    """The manifest.json inside the package."""
    return json.loads(package.read("manifest.json"))


def test_manifest_is_valid_against_the_official_schema(document: dict[str, Any]) -> None:
    path = SCHEMAS / f"v{document['manifestVersion']}" / "MicrosoftTeams.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    # An empty registry resolves nothing remote: a $ref outside the file fails instead of fetching.
    validator = Draft4Validator(
        schema, registry=Registry(), format_checker=Draft4Validator.FORMAT_CHECKER
    )
    errors = [
        f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(document)
    ]
    assert errors == []
    assert document["$schema"].endswith(
        f"/v{document['manifestVersion']}/MicrosoftTeams.schema.json"
    )


def test_zip_holds_exactly_the_manifest_and_icons_at_its_root(package: zipfile.ZipFile) -> None:
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]


def test_icons_have_the_sizes_teams_requires(
    package: zipfile.ZipFile, document: dict[str, Any]
) -> None:
    assert document["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert Image.open(BytesIO(package.read("color.png"))).size == (192, 192)
    assert Image.open(BytesIO(package.read("outline.png"))).size == (32, 32)


def test_outline_icon_is_white_on_transparent(package: zipfile.ZipFile) -> None:
    outline = Image.open(BytesIO(package.read("outline.png")))
    assert outline.format == "PNG" and outline.mode == "RGBA"
    pixels = list(outline.get_flattened_data())
    assert {pixel[:3] for pixel in pixels if pixel[3]} == {(255, 255, 255)}
    alphas = {pixel[3] for pixel in pixels}
    assert 0 in alphas and 255 in alphas


def test_placeholders_are_filled(document: dict[str, Any]) -> None:
    assert re.search(r"\{\{[A-Z_]+\}\}", json.dumps(document)) is None
    assert document["id"] == APP_ID
    assert document["developer"]["name"] == "Upside"
    assert document["developer"]["privacyUrl"].startswith(f"https://{HOST}/")
    assert document["name"]["short"] == "Upside"


def test_bot_scopes_and_files(document: dict[str, Any]) -> None:
    (bot,) = document["bots"]
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    assert bot["supportsFiles"] is False


def test_every_scope_has_a_command_list_of_commands_the_router_knows(
    document: dict[str, Any],
) -> None:
    (bot,) = document["bots"]
    known = set(HELP) | {"help"}
    scopes = [scope for lists in bot["commandLists"] for scope in lists["scopes"]]
    assert sorted(scopes) == sorted(bot["scopes"])
    for command_list in bot["commandLists"]:
        titles = [command["title"] for command in command_list["commands"]]
        assert len(titles) <= MAX_COMMANDS, command_list["scopes"]
        assert len(set(titles)) == len(titles), command_list["scopes"]
        assert set(titles) <= known, set(titles) - known


def test_message_action_sends_to_upside(document: dict[str, Any]) -> None:
    (extension,) = document["composeExtensions"]
    assert extension["botId"] == APP_ID
    (command,) = extension["commands"]
    assert command["id"] == "sendToUpside"
    assert command["title"] == "Send to Upside"
    assert command["type"] == "action"
    assert command["context"] == ["message"]
    assert command["fetchTask"] is True


def test_rsc_permission_application_and_domains(document: dict[str, Any]) -> None:
    permissions = document["authorization"]["permissions"]["resourceSpecific"]
    assert {"name": "ChannelMessage.Read.Group", "type": "Application"} in permissions
    assert document["webApplicationInfo"]["id"] == APP_ID
    assert document["webApplicationInfo"]["resource"] == f"api://{HOST}/{APP_ID}"
    assert document["validDomains"] == [HOST]


def test_version_defaults_to_a_semver_and_can_be_given() -> None:
    assert manifest(APP_ID, HOST, "2.3.4")["version"] == "2.3.4"
    assert all(part.isdigit() for part in manifest(APP_ID, HOST)["version"].split("."))
    with pytest.raises(ValueError, match=r"MAJOR\.MINOR\.PATCH"):
        manifest(APP_ID, HOST, "1.0")


@pytest.mark.parametrize(
    "app_id", ["", "not-a-guid", APP_ID[:-1], "{" + APP_ID + "}", APP_ID + "0"]
)
def test_bad_app_id_is_refused(app_id: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not a GUID"):
        build_package(app_id, HOST, tmp_path / "upside.zip")
    assert not (tmp_path / "upside.zip").exists()


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("https://upside.example.com", "drop the scheme"),
        ("upside.example.com/api", "drop the path"),
        ("upside.example.com:443", "drop the port"),
        ("localhost", "not a public hostname"),
        ("upside..example.com", "not a public hostname"),
        ("-upside.example.com", "not a public hostname"),
        ("upside example.com", "not a public hostname"),
        ("", "not a public hostname"),
    ],
)
def test_bad_host_is_refused(host: str, reason: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=reason):
        build_package(APP_ID, host, tmp_path / "upside.zip")
    assert not (tmp_path / "upside.zip").exists()


def test_the_cli_writes_the_package_for_the_configured_app(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    out = tmp_path / "upside-teams.zip"
    runner = CliRunner()
    monkeypatch.delenv("UPSIDE_TEAMS_APP_ID", raising=False)
    refused = runner.invoke(app, ["teams", "package", "--host", "bot.example.com"])
    assert refused.exit_code == 2 and "UPSIDE_TEAMS_APP_ID" in refused.output
    monkeypatch.setenv("UPSIDE_TEAMS_APP_ID", APP_ID)
    monkeypatch.setenv("UPSIDE_TEAMS_APP_PASSWORD", "secret")
    monkeypatch.setenv("UPSIDE_TEAMS_TENANT_ID", "5f3c6b1e-2d4a-4c8e-9b7a-1e2d3c4b5a69")
    bad = runner.invoke(app, ["teams", "package", "--host", "https://bot.example.com/x"])
    assert bad.exit_code == 2 and "bare hostname" in bad.output
    done = runner.invoke(app, ["teams", "package", "--host", "bot.example.com", "--out", str(out)])
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(out) as package:
        assert json.loads(package.read("manifest.json"))["id"] == APP_ID
