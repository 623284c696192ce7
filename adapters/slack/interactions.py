"""Interactivity: the "Send to Upside" shortcut, "Wrong topic?" picks and the topic forms."""

from __future__ import annotations

from asyncio import to_thread

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from sqlmodel import select

from adapters.slack import home
from adapters.slack.blocks import WRONG_TOPIC, parse_wrong_topic
from adapters.slack.context import SlackContext, feedback_from_message
from bot.intake.topics import TopicConfig, save_topic
from bot.models import Department, Topic

SHORTCUT = "send_to_upside"
TOPIC_FORM = "topic_form"


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the shortcut, block actions and view submissions."""

    async def store_shared(ack: AsyncAck, body: dict) -> None:
        team = body.get("team", {}).get("id", "")
        item = feedback_from_message(team, body["channel"]["id"], body["message"])
        await to_thread(ctx.core.ingest, [item])  # stored before Slack hears back
        await ack()

    async def thank(body: dict) -> None:
        await ctx.client.chat_postEphemeral(
            channel=body["channel"]["id"],
            user=body["user"]["id"],
            text="Thanks! Upside has the message; it will reach the department it concerns.",
        )

    app.shortcut(SHORTCUT)(ack=store_shared, lazy=[thank])

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def wrong_topic(body: dict, action: dict, respond: AsyncRespond) -> None:
        feedback_id, topic = parse_wrong_topic(action["selected_option"]["value"])
        try:
            await to_thread(ctx.core.correct_topic, feedback_id, topic, body["user"]["id"])
        except LookupError as exc:
            await respond(
                text=f"Could not move it: {exc}.", replace_original=False, response_type="ephemeral"
            )
            return
        await respond(
            text=f"Thanks — item #{feedback_id} now belongs to *{topic}*; Upside learnt from it.",
            replace_original=False,
            response_type="ephemeral",
        )

    async def open_topic_form(body: dict, action: dict) -> None:
        if not (await ctx.actor(body["user"]["id"])).is_admin:
            return
        name = action["value"] if action["action_id"] == "topic_edit" else ""
        view = await to_thread(_topic_form, ctx, name)
        await ctx.client.views_open(trigger_id=body["trigger_id"], view=view)

    # Slack hears back at once; the work follows (Slack waits 3 seconds at most)
    app.action(WRONG_TOPIC)(ack=acknowledge, lazy=[wrong_topic])
    for action_id in ("topic_add", "topic_edit"):
        app.action(action_id)(ack=acknowledge, lazy=[open_topic_form])

    @app.view(TOPIC_FORM)
    async def save_topic(ack: AsyncAck, body: dict, view: dict) -> None:
        user = body["user"]["id"]
        if not (await ctx.actor(user)).is_admin:
            await ack(response_action="errors", errors={"name": "Only Upside admins edit topics."})
            return
        values = {block: next(iter(v.values())) for block, v in view["state"]["values"].items()}
        entry = {
            "name": (values["name"].get("value") or "").strip(),
            "department": (values["department"].get("selected_option") or {}).get("value", ""),
            "description": (values["description"].get("value") or "").strip(),
            "examples": (values["examples"].get("value") or "").splitlines(),
        }
        errors = await to_thread(_save_topic, ctx, view.get("private_metadata", ""), entry)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        await home.publish(ctx, user)


def _topic_form(ctx: SlackContext, name: str) -> dict:
    """The modal that creates a topic, or edits `name` (its examples are added to)."""
    with ctx.core.session() as session:
        departments = session.exec(select(Department.name).order_by(Department.name)).all()
        topic = session.exec(select(Topic).where(Topic.name == name)).first() if name else None
        owner = (
            session.get(Department, topic.department_id) if topic and topic.department_id else None
        )
    options = [_option(d) for d in departments[:100]]
    department = {"type": "static_select", "action_id": "value", "options": options}
    if owner is not None:
        department["initial_option"] = _option(owner.name)
    return {
        "type": "modal",
        "callback_id": TOPIC_FORM,
        "private_metadata": name,
        "title": {"type": "plain_text", "text": "Edit topic" if topic else "New topic"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            _input("name", "Name", {"initial_value": name} if name else {}),
            {
                "type": "input",
                "block_id": "department",
                "label": _plain("Department"),
                "element": department,
            },
            _input(
                "description",
                "One-line description",
                {"initial_value": topic.description} if topic and topic.description else {},
                optional=True,
            ),
            _input(
                "examples",
                "Example phrases to add, one per line",
                {"multiline": True},
                optional=True,
            ),
        ],
    }


def _save_topic(ctx: SlackContext, original: str, entry: dict) -> dict[str, str]:
    """Validate and store the form; returns Slack's per-block errors, empty when saved."""
    if not entry["name"]:
        return {"name": "A topic needs a name."}
    if len(entry["name"]) > 100:
        return {"name": "100 characters at most."}
    with ctx.core.session() as session:
        clash = session.exec(select(Topic).where(Topic.name == entry["name"])).first()
        if clash is not None and entry["name"] != original:
            return {"name": f"A topic called {entry['name']} exists already."}
        department = session.exec(
            select(Department).where(Department.name == entry["department"])
        ).first()
        if department is None:
            return {"department": "Pick a department."}
        if original and original != entry["name"]:
            renamed = session.exec(select(Topic).where(Topic.name == original)).one()
            renamed.name = entry["name"]
            session.add(renamed)
            session.flush()
        save_topic(session, TopicConfig(**entry), department)
    ctx.core.refresh_topics()
    return {}


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def _option(name: str) -> dict:
    return {"text": _plain(name[:75]), "value": name[:150]}


def _input(block_id: str, label: str, extra: dict, optional: bool = False) -> dict:
    element = {"type": "plain_text_input", "action_id": "value", **extra}
    return {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label),
        "element": element,
        "optional": optional,
    }
