"""Interactivity: the "Send to Upside" shortcut, "Wrong topic?" picks and the topic forms."""

from __future__ import annotations

import logging
from asyncio import to_thread

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from sqlmodel import Session, select

from adapters.slack import home
from adapters.slack.blocks import WRONG_TOPIC, parse_wrong_topic
from adapters.slack.context import SlackContext, feedback_from_message
from bot.intake.ingest import ItemResult
from bot.intake.topics import TopicConfig, save_topic
from bot.models import Department, Topic
from bot.ports import InboundFeedback

log = logging.getLogger(__name__)
SHORTCUT = "send_to_upside"
SHARED_REPLY = "upside_shared_reply"  # what `store_shared` leaves in the context for `thank`
NOTHING_TO_STORE = (
    "Upside stored nothing: that message has no words it can read (only files, images or "
    "formatting). Send the words with `/upside feedback`."
)
TOPIC_FORM = "topic_form"


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the shortcut, block actions and view submissions."""

    async def store_shared(ack: AsyncAck, body: dict, context: AsyncBoltContext) -> None:
        """Store the shared message before Slack hears back; what to tell the person follows."""
        message = body.get("message") or {}
        text = await ctx.words(message, wait=0)  # names Slack has not given yet come after
        if not text:
            context[SHARED_REPLY] = NOTHING_TO_STORE
        else:
            item = _shared(body, text)
            report = await to_thread(ctx.core.ingest, [item])
            context[SHARED_REPLY] = _shared_reply(report.results[0])
        await ack()

    async def thank(body: dict, context: AsyncBoltContext) -> None:
        """Tell the person, privately, whether Upside stored the message and if not, why;
        then name the people it mentions, now that Slack may be asked."""
        await ctx.client.chat_postEphemeral(
            channel=body["channel"]["id"], user=body["user"]["id"], text=context[SHARED_REPLY]
        )
        message = body.get("message") or {}
        if context[SHARED_REPLY] != NOTHING_TO_STORE and ctx.mentions_people(message):
            item = _shared(body, await ctx.words(message))
            await to_thread(ctx.core.edit, item.source, item.external_id, item.text)

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

    async def check_topic(ack: AsyncAck, view: dict) -> None:
        original, entry = _submitted(view)
        errors = await to_thread(_topic_errors, ctx, original, entry)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()  # the form closes; the role check (Slack may be asked), saving, Home follow

    async def store_topic(body: dict, view: dict) -> None:
        user = body["user"]["id"]
        if not (await ctx.actor(user)).is_admin:  # the form is only offered to admins
            await ctx.client.chat_postMessage(
                channel=user, text="Only Upside admins edit topics; nothing was saved."
            )
            return
        original, entry = _submitted(view)
        errors = await to_thread(_save_topic, ctx, original, entry)
        if errors:  # changed since `check_topic` passed it
            log.info("topic form of %s not saved: %s", user, errors)
            return
        await home.publish(ctx, user)

    app.view(TOPIC_FORM)(ack=check_topic, lazy=[store_topic])


def _shared(body: dict, text: str) -> InboundFeedback:
    """The message a person sent with the shortcut, as feedback with readable `text`."""
    message = body.get("message") or {}
    team = body.get("team", {}).get("id", "")
    shared = message | {"ts": message.get("ts") or body["message_ts"]}
    return feedback_from_message(team, body["channel"]["id"], shared, text)


def _shared_reply(result: ItemResult) -> str:
    """What the person who shared a message is told about what became of it."""
    if result.outcome == "accepted":
        return "Thanks! Upside has the message; it will reach the department it concerns."
    if result.outcome == "duplicate":
        return "Upside has that message already; it will reach the department it concerns."
    return f"Upside could not store that message: {result.reason}."


def _topic_form(ctx: SlackContext, name: str) -> dict:
    """The modal that creates a topic, or edits `name` (its examples are added to)."""
    with ctx.core.session() as session:
        departments = session.exec(select(Department.name).order_by(Department.name)).all()
        topic = session.exec(select(Topic).where(Topic.name == name)).first() if name else None
        owner = (
            session.get(Department, topic.department_id) if topic and topic.department_id else None
        )
    names = list(departments[:100])  # Slack's most, the current owner among them
    if owner is not None and owner.name not in names:
        names[-1] = owner.name
    department = {
        "type": "static_select",
        "action_id": "value",
        "options": list(map(_option, names)),
    }
    if owner is not None:
        department["initial_option"] = _option(owner.name)
    return {
        "type": "modal",
        "callback_id": TOPIC_FORM,
        "private_metadata": name,
        "title": {"type": "plain_text", "text": "Edit topic" if topic else "New topic"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": [
            _input("name", "Name", {"max_length": 100} | ({"initial_value": name} if name else {})),
            {
                "type": "input",
                "block_id": "department",
                "label": _plain("Department"),
                "element": department,
            },
            _input(
                "description",
                "One-line description",
                {"max_length": 500}
                | ({"initial_value": topic.description} if topic and topic.description else {}),
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


def _submitted(view: dict) -> tuple[str, dict]:
    """The topic the form edits ("" for a new one) and what was filled in."""
    values = {block: next(iter(v.values())) for block, v in view["state"]["values"].items()}
    entry = {
        "name": (values["name"].get("value") or "").strip(),
        "department": (values["department"].get("selected_option") or {}).get("value", ""),
        "description": (values["description"].get("value") or "").strip(),
        "examples": (values["examples"].get("value") or "").splitlines(),
    }
    return view.get("private_metadata", ""), entry


def _topic_errors(ctx: SlackContext, original: str, entry: dict) -> dict[str, str]:
    """Slack's per-block errors for the form; empty when it can be saved."""
    with ctx.core.session() as session:
        return _errors(session, original, entry)


def _errors(session: Session, original: str, entry: dict) -> dict[str, str]:
    if not entry["name"]:
        return {"name": "A topic needs a name."}
    if len(entry["name"]) > 100:
        return {"name": "100 characters at most."}
    clash = session.exec(select(Topic).where(Topic.name == entry["name"])).first()
    if clash is not None and entry["name"] != original:
        return {"name": f"A topic called {entry['name']} exists already."}
    if _department(session, entry["department"]) is None:
        return {"department": "Pick a department."}
    return {}


def _department(session: Session, name: str) -> Department | None:
    return session.exec(select(Department).where(Department.name == name)).first()


def _save_topic(ctx: SlackContext, original: str, entry: dict) -> dict[str, str]:
    """Validate and store the form; returns Slack's per-block errors, empty when saved."""
    with ctx.core.session() as session:
        errors = _errors(session, original, entry)
        if errors:
            return errors
        department = _department(session, entry["department"])
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
