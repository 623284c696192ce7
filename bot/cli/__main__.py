"""`python -m bot.cli`: the `upside` command."""

from bot.cli import app

app(prog_name="upside")
