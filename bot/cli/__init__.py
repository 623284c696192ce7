"""The `upside` command line: the composition root, where adapters meet the core."""

from bot.cli.main import app

__all__ = ["app"]
