"""App Home: sentiment by department for everyone, open complaints for executives,
topic management for admins (its buttons open the forms in `interactions`)."""

from __future__ import annotations

from asyncio import to_thread
from datetime import timedelta

from sqlmodel import select

from adapters.slack.blocks import section
from adapters.slack.context import SlackContext
from adapters.slack.markup import escape_mrkdwn
from bot.digests.build import DepartmentMood, department_moods
from bot.executives import complaints
from bot.models import Executive, Topic, utcnow

DAYS = 7


async def publish(ctx: SlackContext, user_id: str) -> None:
    """Build and publish `user_id`'s Home tab."""
    actor = await ctx.actor(user_id)
    moods, held, topics = await to_thread(_read, ctx, user_id)
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Voice of the customer"}},
        section(f"*Sentiment by department, last {DAYS} days*\n" + _moods(moods)[:2900]),
    ]
    if held:
        blocks.append({"type": "divider"})
        blocks.append(section("*Your open complaints*\n" + "\n".join(held)))
    if actor.is_admin:
        blocks.append({"type": "divider"})
        blocks.append(section("*Topics* (admins)"))
        for name, description in topics[:40]:
            blocks.append(
                section(
                    f"*{escape_mrkdwn(name)}* — {escape_mrkdwn(description) or '_no description_'}"
                )
                | {"accessory": _button("Edit", "topic_edit", name)}
            )
        blocks.append({"type": "actions", "elements": [_button("Add a topic", "topic_add", "new")]})
    await ctx.client.views_publish(user_id=user_id, view={"type": "home", "blocks": blocks})


def _read(ctx: SlackContext, user_id: str):
    with ctx.core.session() as session:
        moods = department_moods(session, utcnow() - timedelta(days=DAYS))
        boss = session.exec(
            select(Executive.id).where(Executive.platform == "slack", Executive.user_id == user_id)
        ).first()
        held = complaints.open_complaints(ctx.core, boss) if boss is not None else []
        lines = [f"• #{c.id}: “{escape_mrkdwn(c.text[:200])}”" for c in held]
        topics = [(t.name, t.description) for t in session.exec(select(Topic).order_by(Topic.name))]
    return moods, lines, topics


def _moods(moods: list[DepartmentMood]) -> str:
    lines = []
    for mood in moods:
        total = mood.negative + mood.neutral + mood.positive
        if not total:
            lines.append(f"• *{mood.department}*: no feedback")
            continue
        lines.append(
            f"• *{mood.department}*: {total} items — :red_circle: {mood.negative / total:.0%} "
            f":white_circle: {mood.neutral / total:.0%} "
            f":large_green_circle: {mood.positive / total:.0%}"
        )
    return "\n".join(lines) or "No departments yet."


def _button(label: str, action_id: str, value: str) -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value[:150],
    }
