"""Checks made before the work starts, so each start-up failure is one line naming a setting.

They run before the model loads: a wrong port or database is found in a moment,
not after the seconds the model takes.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from bot import db
from bot.cli.output import fail
from bot.config import Settings
from bot.core import Upside


def open_core(settings: Settings, create: bool = False) -> Upside:
    """The core, its database reachable and migrated; one never initialised only with `create`."""
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        core = Upside(settings)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise fail(f"UPSIDE_DATABASE_URL: cannot use {where}: {exc}") from None
    absent = db.missing_file(core.engine)
    problem = None if absent and not create else db.connection_problem(core.engine)
    if problem:
        raise fail(f"UPSIDE_DATABASE_URL: cannot connect to {where}: {problem}")
    if not create and (absent or not db.initialised(core.engine)):
        raise fail(f"the database at {where} has no tables yet: run `upside init` first")
    core.migrate()
    return core


def check_model_settings(settings: Settings) -> None:
    """Refuse a cache or model directory the model could not use, before loading it."""
    problem = _directory_problem(settings.cache_dir)
    if problem:
        raise fail(f"UPSIDE_CACHE_DIR: {settings.cache_dir} {problem}")
    if settings.model_dir is None:
        return
    path = Path(settings.model_dir).expanduser()
    if path.is_dir():
        if not any((path / name).is_file() for name in ("onnx/model.onnx", "model.onnx")):
            raise fail(f"UPSIDE_MODEL_DIR: {path} has no onnx/model.onnx")
    elif path.exists() or settings.model_dir.count("/") != 1:
        raise fail(
            f"UPSIDE_MODEL_DIR: {settings.model_dir} is neither a model directory "
            "nor a Hugging Face hub id such as org/name"
        )


def _directory_problem(path: Path) -> str | None:
    """Why files cannot be written in `path` (made when missing), or None."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot be a directory: {existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"is not writable ({existing} refuses new files)"
    return None


def check_bindable(host: str, port: int) -> None:
    """Refuse a host or port the server could not listen on, before the model loads."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        raise fail(f"UPSIDE_HOST: cannot listen on {host!r}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does
        try:
            probe.bind(address)
        except OSError as exc:
            setting = "UPSIDE_PORT" if exc.errno == errno.EADDRINUSE else "UPSIDE_HOST"
            raise fail(f"{setting}: cannot listen on {host}:{port}: {exc.strerror}") from None
