"""The Teams app package: the manifest template filled in for one deployment, zipped with its icons.

Teams admins upload this zip to install Upside; `upside teams package` writes it.
"""

from __future__ import annotations

import json
import re
import zipfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

ICONS = ("color.png", "outline.png")
_APP = resources.files(__package__).joinpath("app")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SEMVER = re.compile(r"^(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)\.(?:0|[1-9][0-9]*)$")


def _default_version() -> str:
    """Upside's installed version, which Teams shows and compares on updates."""
    try:
        return metadata.version("upside")
    except metadata.PackageNotFoundError:
        return "1.0.0"


def _app_id(value: str) -> str:
    """The Entra app (client) id of the Azure Bot, which Teams requires to be a GUID."""
    if not _GUID.match(value):
        raise ValueError(
            f"app id {value!r} is not a GUID like 00000000-0000-0000-0000-000000000000; "
            "use the Azure Bot's Microsoft App ID (UPSIDE_TEAMS_APP_ID)"
        )
    return value.lower()


def _host(value: str) -> str:
    """The public host Upside is served from, bare as `validDomains` wants it."""
    host = value.lower()
    for mark, part in (("://", "scheme"), ("/", "path"), (":", "port")):
        if mark in host:
            raise ValueError(
                f"host {value!r} must be a bare hostname such as bot.example.com: drop the {part}"
            )
    labels = host.split(".")
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"host {value!r} is not a public hostname such as bot.example.com")
    return host


def _version(value: str) -> str:
    """The app version: Teams accepts only MAJOR.MINOR.PATCH."""
    if not _SEMVER.match(value):
        raise ValueError(f"version {value!r} must be MAJOR.MINOR.PATCH, such as 1.4.0")
    return value


def _fill(node: Any, values: dict[str, str]) -> Any:
    """The template with every `{{NAME}}` in its strings replaced."""
    if isinstance(node, dict):
        return {key: _fill(item, values) for key, item in node.items()}
    if isinstance(node, list):
        return [_fill(item, values) for item in node]
    if isinstance(node, str):
        for name, value in values.items():
            node = node.replace("{{" + name + "}}", value)
    return node


def manifest(app_id: str, host: str, version: str | None = None) -> dict[str, Any]:
    """The Teams manifest for this bot at this host; ValueError names any bad input."""
    values = {
        "APP_ID": _app_id(app_id),
        "HOST": _host(host),
        "VERSION": _version(version or _default_version()),
    }
    template = json.loads(_APP.joinpath("manifest.template.json").read_text(encoding="utf-8"))
    return _fill(template, values)


def build_package(app_id: str, host: str, out: Path, version: str | None = None) -> Path:
    """Write the app package zip (manifest.json and both icons at its root) to `out`."""
    document = json.dumps(manifest(app_id, host, version), indent=2, ensure_ascii=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", document)
        for icon in ICONS:
            package.writestr(icon, _APP.joinpath(icon).read_bytes())
    return out
