"""An executive's complaint as a Slack message with Claim, Release, Resolve and Reveal buttons.

Listeners call Slack with the `client` Bolt hands them, which carries the token of the
workspace the click came from (OAuth installs included).

The monthly assignment, the 7-day reminder and every button press show the same
message, re-drawn for the complaint's state. Resolve opens a form for the note; the
note then goes into the source thread, as `/upside resolve` does. Reveal answers the
executive alone (ephemerally) with the customer's words as received, as `/upside reveal`.
"""

from __future__ import annotations

import json
import logging
from asyncio import to_thread

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import NAME_CHARS, TEXT_CHARS, escape_clipped, section
from adapters.slack.context import SlackContext, person
from adapters.slack.markup import link, mrkdwn
from bot.commands import refusal, resolved_reply, revealed_message
from bot.executives import complaints
from bot.executives.complaints import ProgrammeError
from bot.executives.views import ComplaintView

log = logging.getLogger(__name__)
CLAIM, RELEASE, RESOLVE = "complaint_claim", "complaint_release", "complaint_resolve"
REVEAL = "complaint_reveal"
RESOLVE_FORM = "complaint_resolve_form"
_BUTTONS = {  # what can be done in each state
    "assigned": (CLAIM, RELEASE, RESOLVE),
    "claimed": (RELEASE, RESOLVE, REVEAL),
    "open": (CLAIM,),
    "resolved": (),
}
_LABELS = {CLAIM: "Claim", RELEASE: "Release", RESOLVE: "Resolve", REVEAL: "Reveal"}
_STATES = {
    "assigned": "Assigned to you: *Claim* it to say you are on it.",
    "claimed": "Yours: you claimed it.",
    "open": "In the queue: any executive may claim it.",
    "resolved": "Resolved.",
}


def complaint_text(complaint: ComplaintView, intro: str) -> str:
    """The notification text (and fallback) of a complaint message."""
    words = escape_clipped(complaint.text, 200)
    return f"{escape_clipped(intro, 300)} Complaint #{complaint.id}: “{words}”"


def complaint_blocks(complaint: ComplaintView, intro: str) -> list[dict]:
    """The customer's words, sentiment, topic, source link and the buttons its state allows."""
    details = [f"#{complaint.id}", f"sentiment {complaint.score:+.2f}"]
    if complaint.topic:
        details.append(escape_clipped(complaint.topic, NAME_CHARS))
    if complaint.link and len(link(complaint.link, "source")) <= TEXT_CHARS // 2:
        details.append(link(complaint.link, "source"))  # a URL cannot be cut: too long, left out
    blocks = [
        section(escape_clipped(intro, TEXT_CHARS)),
        section(f"“{escape_clipped(complaint.text, TEXT_CHARS - 2)}”"),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(details)}]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _STATES[complaint.status]}]},
    ]
    buttons = [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": _LABELS[action]},
            "action_id": action,
            "value": str(complaint.id),
            **({"style": "primary"} if action in (CLAIM, RESOLVE) else {}),
        }
        for action in _BUTTONS[complaint.status]
    ]
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks


def register(app: AsyncApp, ctx: SlackContext) -> None:
    """Add the buttons' listeners and the resolve form."""

    async def redraw(respond: AsyncRespond, complaint: ComplaintView, intro: str) -> None:
        await respond(
            replace_original=True,
            text=complaint_text(complaint, intro),
            blocks=complaint_blocks(complaint, intro),
        )

    async def refuse(respond: AsyncRespond, exc: Exception) -> None:
        await respond(text=mrkdwn(refusal(exc)), replace_original=False, response_type="ephemeral")

    async def acknowledge(ack: AsyncAck) -> None:
        await ack()

    async def claim(body: dict, action: dict, respond: AsyncRespond) -> None:
        try:
            complaint = await to_thread(
                complaints.claim, ctx.core, person(body), int(action["value"])
            )
        except (PermissionError, ProgrammeError) as exc:
            await refuse(respond, exc)
            return
        await redraw(respond, complaint, "It's yours.")

    async def release(body: dict, action: dict, respond: AsyncRespond) -> None:
        feedback_id = int(action["value"])
        try:
            await to_thread(complaints.release, ctx.core, person(body), feedback_id)
        except (PermissionError, ProgrammeError) as exc:
            await refuse(respond, exc)
            return
        complaint = await to_thread(complaints.complaint, ctx.core, feedback_id)
        await redraw(respond, complaint, "You handed it back to the queue.")

    async def reveal(body: dict, action: dict, respond: AsyncRespond) -> None:
        feedback_id = int(action["value"])
        try:
            text = await to_thread(complaints.reveal, ctx.core, person(body), feedback_id)
        except (PermissionError, ProgrammeError) as exc:
            await refuse(respond, exc)
            return
        shown = mrkdwn(revealed_message(feedback_id, text))
        await respond(text=shown, replace_original=False, response_type="ephemeral")

    async def open_form(body: dict, action: dict, client: AsyncWebClient) -> None:
        where = {"id": int(action["value"])}
        if body.get("container", {}).get("type") == "message":  # the DM to re-draw afterwards
            where |= {
                "channel": body["container"]["channel_id"],
                "ts": body["container"]["message_ts"],
            }
        await client.views_open(trigger_id=body["trigger_id"], view=_form(where))

    async def check(ack: AsyncAck, body: dict, view: dict) -> None:
        where, note = _submitted(view)
        try:
            await to_thread(complaints.holding, ctx.core, person(body), where["id"])
        except (PermissionError, ProgrammeError) as exc:
            await ack(response_action="errors", errors={"note": mrkdwn(refusal(exc))})
            return
        if not note:
            await ack(response_action="errors", errors={"note": "Say what was done."})
            return
        await ack()  # the form closes; resolving, the source thread and the DM follow

    async def resolve(body: dict, view: dict, client: AsyncWebClient) -> None:
        where, note = _submitted(view)
        try:
            complaint = await to_thread(
                complaints.resolve, ctx.core, person(body), where["id"], note
            )
        except (PermissionError, ProgrammeError) as exc:  # refused by `check`, or changed since
            log.info("resolve form for #%s not applied: %s", where["id"], exc)
            return
        intro = resolved_reply(
            complaint, await complaints.answer(ctx.commands.outbound, complaint, note)
        )
        if "channel" in where:
            await client.chat_update(
                channel=where["channel"],
                ts=where["ts"],
                text=complaint_text(complaint, intro),
                blocks=complaint_blocks(complaint, intro),
            )

    # Slack hears back at once; the work follows (Slack waits 3 seconds at most)
    app.action(CLAIM)(ack=acknowledge, lazy=[claim])
    app.action(RELEASE)(ack=acknowledge, lazy=[release])
    app.action(RESOLVE)(ack=acknowledge, lazy=[open_form])
    app.action(REVEAL)(ack=acknowledge, lazy=[reveal])
    app.view(RESOLVE_FORM)(ack=check, lazy=[resolve])


def _form(where: dict) -> dict:
    return {
        "type": "modal",
        "callback_id": RESOLVE_FORM,
        "private_metadata": json.dumps(where),
        "title": {"type": "plain_text", "text": f"Resolve #{where['id']}"},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "blocks": [
            {
                "type": "input",
                "block_id": "note",
                "label": {"type": "plain_text", "text": "What was done?"},
                "hint": {
                    "type": "plain_text",
                    "text": "If the complaint came from a Slack message, this goes in its thread.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": "value",
                    "multiline": True,
                    "max_length": 2000,
                },
            }
        ],
    }


def _submitted(view: dict) -> tuple[dict, str]:
    """The complaint (and DM) the form is about, and the note typed in."""
    note = view["state"]["values"]["note"]["value"].get("value") or ""
    return json.loads(view["private_metadata"]), note.strip()
