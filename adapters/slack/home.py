"""App Home: sentiment by department for everyone, open complaints for executives,
topic management for admins (its buttons open the forms in `interactions`).

Slack hears back at once when the tab opens; the view is built and published after, and
stays within a view's limits however many departments, complaints and topics there are.
"""

from __future__ import annotations

from asyncio import to_thread
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt.async_app import AsyncApp
from sqlmodel import func, select

from adapters.slack.blocks import NAME_CHARS, TEXT_CHARS, capped, escape_clipped, section
from adapters.slack.context import SlackContext
from bot.digests.build import DepartmentMood, department_moods
from bot.digests.holds import needs_attention
from bot.executives import complaints
from bot.executives.views import ComplaintView
from bot.models import Executive, Topic, utcnow

DAYS = 7
COMPLAINTS_SHOWN = 10  # the rest are a `/upside mine` away
TOPICS_SHOWN = 40  # a section each; the rest are a `/upside topics` away
CONCERNS_SHOWN = 5  # deliveries waiting for an admin; the rest are in `upside status`
COMPLAINT_CHARS = 200
DESCRIPTION_CHARS = 300


@dataclass(frozen=True, slots=True)
class HomeData:
    """What one person's Home tab shows: `topics` are the first names and descriptions of
    `topic_count`, for admins only (None for everyone else)."""

    moods: list[DepartmentMood]
    held: list[ComplaintView]
    topics: list[tuple[str, str]] | None
    topic_count: int = 0
    concerns: tuple[str, ...] = ()  # for admins: what needs attention, one line each


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Publish the Home tab after Slack has heard back: `views.publish` may be slow."""

    async def remember(body: dict) -> None:
        # a lost publish is redone the next time the tab opens: no retry needed
        await to_thread(ctx.core.remember, body["event_id"])

    async def publish_opened(event: dict) -> None:
        if event.get("tab", "home") == "home":
            await publish(ctx, event["user"])

    app.event("app_home_opened")(ack=remember, lazy=[publish_opened])


async def publish(ctx: SlackContext, user_id: str) -> None:
    """Build and publish `user_id`'s Home tab; call it after Slack's acknowledgement."""
    actor = await ctx.actor(user_id)
    data = await to_thread(_read, ctx, user_id, actor.is_admin)
    await ctx.client.views_publish(user_id=user_id, view=home_view(data))


def home_view(data: HomeData) -> dict:
    """The Home tab: at most 50 of a view's 100 blocks, each within Slack's limits."""
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "Voice of the customer"}}]
    if data.concerns:  # a banner: deliveries wait for an admin
        lines = [f":warning: {escape_clipped(line, DESCRIPTION_CHARS)}" for line in data.concerns]
        more = "…and {} more: `upside status` lists them all.".format
        listed = capped(lines, more, CONCERNS_SHOWN, TEXT_CHARS - 100)
        blocks.append(section("*Needs attention*\n" + listed))
    blocks.append(section(f"*Sentiment by department, last {DAYS} days*\n" + _moods(data.moods)))
    if data.held:
        blocks.append({"type": "divider"})
        blocks.append(section(_held(data.held)))
    if data.topics is not None:
        blocks.append({"type": "divider"})
        blocks.append(section("*Topics* (admins)"))
        for name, description in data.topics[:TOPICS_SHOWN]:
            text = escape_clipped(description, DESCRIPTION_CHARS) or "_no description_"
            blocks.append(
                section(f"*{escape_clipped(name, NAME_CHARS)}* — {text}")
                | {"accessory": _button("Edit", "topic_edit", name)}
            )
        hidden = data.topic_count - min(len(data.topics), TOPICS_SHOWN)
        if hidden > 0:
            blocks.append(section(f"…and {hidden} more: `/upside topics` lists them all."))
        blocks.append({"type": "actions", "elements": [_button("Add a topic", "topic_add", "new")]})
    return {"type": "home", "blocks": blocks}


def _read(ctx: SlackContext, user_id: str, is_admin: bool) -> HomeData:
    with ctx.core.session() as session:
        moods = department_moods(session, utcnow() - timedelta(days=DAYS))
        boss = session.exec(
            select(Executive.id).where(Executive.platform == "slack", Executive.user_id == user_id)
        ).first()
        held = complaints.open_complaints(ctx.core, boss) if boss is not None else []
        if not is_admin:
            return HomeData(moods, held, None)
        first = select(Topic.name, Topic.description).order_by(Topic.name).limit(TOPICS_SHOWN)
        count = session.exec(select(func.count()).select_from(Topic)).one()
        topics = [tuple(row) for row in session.exec(first)]
    concerns = tuple(concern.describe() for concern in needs_attention(ctx.core))
    return HomeData(moods, held, topics, count, concerns)


def _held(held: list[ComplaintView]) -> str:
    lines = [f"• #{c.id}: “{escape_clipped(c.text, COMPLAINT_CHARS)}”" for c in held]
    body = capped(lines, lambda n: f"…and {n} more: `/upside mine`", COMPLAINTS_SHOWN)
    return "*Your open complaints*\n" + body


def _moods(moods: list[DepartmentMood]) -> str:
    lines = []
    for mood in moods:
        name = escape_clipped(mood.department, NAME_CHARS)
        total = mood.negative + mood.neutral + mood.positive
        if not total:
            lines.append(f"• *{name}*: no feedback")
            continue
        lines.append(
            f"• *{name}*: {total} items — :red_circle: {mood.negative / total:.0%} "
            f":white_circle: {mood.neutral / total:.0%} "
            f":large_green_circle: {mood.positive / total:.0%}"
        )
    room = TEXT_CHARS - 100  # the section's title
    return (
        capped(lines, lambda n: f"…and {n} more departments", limit=room) or "No departments yet."
    )


def _button(label: str, action_id: str, value: str) -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value[:150],
    }
