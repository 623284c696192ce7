"""Upside in Teams end to end: the real bot behind the real CloudAdapter and JWT checks."""

from __future__ import annotations

import pytest

from tests.teams_harness import ADMIN_AAD, ANYONE_AAD, teams  # noqa: F401

pytestmark = pytest.mark.asyncio(loop_scope="function")


async def test_help_in_a_personal_chat(teams):  # noqa: F811
    reply = await teams.say("frobnicate")
    assert "Unknown command" in reply and "Upside commands" in reply
