"""The Teams bot: messages, commands, the message action, card buttons and lifecycle events.

Each handler translates a Teams activity into the core's calls, as the Slack listeners
do: channel messages in watched channels become feedback, text sent to the bot (in a
1:1, or after @Upside in a channel) goes through the core's command router, and card
buttons claim, release and resolve complaints or teach topics.
"""

from __future__ import annotations

import logging
import shlex
from asyncio import to_thread

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsActivityHandler, TeamsInfo
from botbuilder.schema import (
    Activity,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ChannelAccount,
)
from botbuilder.schema.teams import (
    MessagingExtensionAction,
    MessagingExtensionActionResponse,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleTaskInfo,
    TeamInfo,
)
from sqlmodel import select

from adapters.teams import activity as read
from adapters.teams import cards
from adapters.teams.connector import TeamsSender
from adapters.teams.host import tenant_of
from adapters.teams.outbound import card_message, text_message
from bot.commands import Actor, Commands, Invocation, refusal, resolved_reply
from bot.core import Upside
from bot.executives import complaints
from bot.executives.complaints import ProgrammeError
from bot.executives.views import ComplaintView
from bot.messages import Message
from bot.models import Department, Topic
from bot.ports import Address

log = logging.getLogger(__name__)
SEND_TO_UPSIDE = "sendToUpside"


class UpsideBot(TeamsActivityHandler):
    """Upside in Teams; every activity refreshes the conversation reference first."""

    def __init__(self, core: Upside, commands: Commands, sender: TeamsSender) -> None:
        self.core = core
        self.commands = commands
        self.sender = sender

    async def on_turn(self, turn_context: TurnContext) -> None:
        if not _removal(turn_context.activity):
            await to_thread(self.sender.remember, turn_context)
        await super().on_turn(turn_context)

    # ------------------------------------------------------------ who and where

    def actor(self, activity: Activity) -> Actor:
        """Who sent the activity: admins by Entra object id."""
        person = activity.from_property or ChannelAccount()
        user = person.aad_object_id or ""
        admins = self.core.settings.ids(self.core.settings.teams_admins)
        return Actor(Address(read.SOURCE, user, tenant_of(activity)), user in admins)

    def feedback_channels(self) -> set[str]:
        """Channels whose messages are feedback: configured ones and those admins watch."""
        settings = self.core.settings
        return set(settings.ids(settings.teams_feedback_channels)) | self.core.watched(read.SOURCE)

    # ------------------------------------------------------------ messages

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if isinstance(activity.value, dict) and activity.value.get("verb"):
            await self._card_submit(turn_context, activity.value)  # an older client's button
            return
        kind = activity.conversation.conversation_type if activity.conversation else ""
        addressed = kind == "personal" or _mentions(activity, activity.recipient)
        if addressed:
            await self._command(turn_context)
        elif kind == "channel" and read.channel_of(activity) in await to_thread(
            self.feedback_channels
        ):
            await self._store(activity)

    async def _store(self, activity: Activity) -> None:
        """A watched channel's message, a person's or an integration's, as feedback."""
        if activity.from_property and activity.from_property.id == activity.recipient.id:
            return  # Upside's own post
        item = read.feedback_from_message(activity, tenant_of(activity))
        if item.text.strip():
            await to_thread(self.core.ingest, [item])

    async def _command(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        text = await self._command_text(turn_context)
        channel = read.channel_of(activity) if _in_channel(activity) else activity.conversation.id
        private = activity.conversation.conversation_type == "personal"
        invocation = Invocation(self.actor(activity), text, channel, activity.id or "", private)
        reply = await self.commands.run(invocation)
        if text.split()[:1] == ["topics"] and len(text.split()) == 1 and invocation.actor.is_admin:
            card = await to_thread(self._topics_card)  # admins edit topics in a card
            await turn_context.send_activity(card_message(card))
            return
        await self.reply(turn_context, reply)

    async def _command_text(self, turn_context: TurnContext) -> str:
        """The command as the router reads it: the bot's mention gone, others as `@ID`/`#ID`."""
        activity = turn_context.activity
        text = activity.text or ""
        for entity in activity.entities or []:
            if entity.type != "mention":
                continue
            props = entity.additional_properties or {}
            mentioned, tag = props.get("mentioned") or {}, props.get("text") or ""
            if not tag or mentioned.get("id") == activity.recipient.id:
                text = text.replace(tag, " ") if tag else text
                continue
            text = text.replace(tag, f" {await self._mention_id(turn_context, mentioned)} ")
        return read.html_text(text).strip()

    async def _mention_id(self, turn_context: TurnContext, mentioned: dict) -> str:
        """`#channel` for a channel mention, `@<Entra object id>` for a person."""
        teams_id = str(mentioned.get("id") or "")
        if teams_id.startswith("19:"):
            return f"#{teams_id}"
        aad = mentioned.get("aadObjectId")
        if not aad:
            try:
                aad = (await TeamsInfo.get_member(turn_context, teams_id)).aad_object_id
            except Exception:  # not a member Teams can look up: keep the id as given
                log.info("could not look up Teams member %s", teams_id, exc_info=True)
        return f"@{aad or teams_id}"

    async def reply(self, turn_context: TurnContext, message: Message) -> None:
        """Answer in the conversation the activity came from, as Teams markdown."""
        await turn_context.send_activity(text_message(message))

    # ------------------------------------------------------------ edits and deletions

    async def on_teams_message_edit(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        key = read.external_id(tenant_of(activity), read.channel_of(activity), activity.id or "")
        text = read.message_text(activity)
        if text.strip():
            await to_thread(self.core.edit, read.SOURCE, key, text)

    async def on_teams_message_soft_delete(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        key = read.external_id(tenant_of(activity), read.channel_of(activity), activity.id or "")
        await to_thread(self.core.delete, read.SOURCE, key)

    # ------------------------------------------------------------ lifecycle

    async def on_installation_update_remove(self, turn_context: TurnContext) -> None:
        await to_thread(self._forget, turn_context, "Upside was uninstalled here")

    async def on_teams_members_removed(
        self, members_removed: list, team_info: TeamInfo, turn_context: TurnContext
    ) -> None:
        if any(m.id == turn_context.activity.recipient.id for m in members_removed):
            await to_thread(self._forget, turn_context, "Upside was removed from here")

    def _forget(self, turn_context: TurnContext, reason: str) -> None:
        activity = turn_context.activity
        self.sender.forget(activity.conversation.id, reason)

    # ------------------------------------------------------------ "Send to Upside"

    async def on_teams_messaging_extension_fetch_task(
        self, turn_context: TurnContext, action: MessagingExtensionAction
    ) -> MessagingExtensionActionResponse:
        payload = action.message_payload.serialize() if action.message_payload else {}
        item = read.feedback_from_payload(payload, turn_context.activity, "")
        card = cards.share_card(item.text)
        task = TaskModuleTaskInfo(title="Send to Upside", card=card_message(card).attachments[0])
        return MessagingExtensionActionResponse(task=TaskModuleContinueResponse(value=task))

    async def on_teams_messaging_extension_submit_action(
        self, turn_context: TurnContext, action: MessagingExtensionAction
    ) -> MessagingExtensionActionResponse:
        activity = turn_context.activity
        payload = action.message_payload.serialize() if action.message_payload else {}
        item = read.feedback_from_payload(payload, activity, tenant_of(activity))
        if not item.text.strip():
            answer = "Nothing was stored: that message has no words Upside can read."
        else:
            result = (await to_thread(self.core.ingest, [item])).results[0]
            answer = {
                "accepted": f"Thanks: stored as feedback #{result.id}. "
                "It will reach the department it concerns.",
                "duplicate": f"Upside has this message already (feedback #{result.id}).",
            }.get(result.outcome, f"Nothing was stored: {result.reason}.")
        return MessagingExtensionActionResponse(task=TaskModuleMessageResponse(value=answer))

    # ------------------------------------------------------------ card buttons

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        action = invoke_value.action if isinstance(invoke_value.action, dict) else {}
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        card = await self.card_action(turn_context.activity, str(action.get("verb") or ""), data)
        return AdaptiveCardInvokeResponse(status_code=200, type=cards.CONTENT_TYPE, value=card)

    async def _card_submit(self, turn_context: TurnContext, data: dict) -> None:
        """An `Action.Submit` fallback: do the same, then update the card in place."""
        card = await self.card_action(turn_context.activity, str(data.get("verb")), data)
        activity = turn_context.activity
        updated = card_message(card)
        if activity.reply_to_id:
            updated.id = activity.reply_to_id
            await turn_context.update_activity(updated)
        else:
            await turn_context.send_activity(updated)

    async def card_action(self, activity: Activity, verb: str, data: dict) -> dict:
        """Run a card's verb; the card to show in its place (a refusal keeps the state)."""
        actor = self.actor(activity)
        try:
            if verb in (cards.CLAIM, cards.RELEASE, cards.RESOLVE):
                return await self._complaint_action(actor, verb, data)
            if verb == cards.REVEAL:
                return await self._reveal(activity, actor, int(data["feedback_id"]))
            if verb == cards.CORRECT_TOPIC:
                return await self._correct(actor, data)
            if verb in (cards.SAVE_TOPIC, cards.ADD_EXAMPLES):
                return await self._topic_form(activity, actor, verb, data)
        except (ValueError, TypeError, KeyError) as exc:
            return cards.notice_card(Message.text(f"That did not work: {exc}."))
        return cards.notice_card(Message.text(f"Unknown action {verb!r}."))

    async def _complaint_action(self, actor: Actor, verb: str, data: dict) -> dict:
        feedback_id = int(data["feedback_id"])
        try:
            if verb == cards.CLAIM:
                view = await to_thread(complaints.claim, self.core, actor.person, feedback_id)
                return cards.complaint_card(view, "It's yours.")
            if verb == cards.RELEASE:
                await to_thread(complaints.release, self.core, actor.person, feedback_id)
                view = await to_thread(complaints.complaint, self.core, feedback_id)
                return cards.complaint_card(view, "You handed it back to the queue.")
            return await self._resolve(actor, feedback_id, str(data.get(cards.NOTE) or ""))
        except (PermissionError, ProgrammeError) as exc:
            current = await to_thread(self._as_seen_by, actor, feedback_id)
            return cards.complaint_card(current, refusal(exc).plain())

    async def _reveal(self, activity: Activity, actor: Actor, feedback_id: int) -> dict:
        """The card with the complaint as received: only in its holder's 1:1 with Upside."""
        try:
            if activity.conversation.conversation_type != "personal":  # others see the card
                raise PermissionError("the customer's own words are shown in your chat with Upside")
            original = await to_thread(complaints.reveal, self.core, actor.person, feedback_id)
        except (PermissionError, ProgrammeError) as exc:
            current = await to_thread(self._as_seen_by, actor, feedback_id)
            return cards.complaint_card(current, refusal(exc).plain())
        view = await to_thread(self._as_seen_by, actor, feedback_id)
        intro = "For you alone: Upside records that you looked."
        return cards.complaint_card(view, intro, original)

    async def _resolve(self, actor: Actor, feedback_id: int, note: str) -> dict:
        view = await to_thread(complaints.resolve, self.core, actor.person, feedback_id, note)
        answered = await complaints.answer(self.commands.outbound, view, note)
        return cards.complaint_card(view, resolved_reply(view, answered))

    def _as_seen_by(self, actor: Actor, feedback_id: int) -> ComplaintView:
        """The complaint's state as this person sees it, after a refused step."""
        with self.core.session() as session:
            boss = complaints.active_executive(session, actor.person)
        return complaints.complaint(self.core, feedback_id, boss.id if boss else None)

    async def _correct(self, actor: Actor, data: dict) -> dict:
        feedback_id = int(data["feedback_id"])
        topic = str(data.get(f"topic_{feedback_id}") or data.get("topic") or "").strip()
        if not topic:
            return cards.notice_card(Message.text("Pick the right topic first."))
        try:
            await to_thread(self.core.correct_topic, feedback_id, topic, actor.person.id)
        except LookupError as exc:
            return cards.notice_card(Message.text(f"Could not move it: {exc}."))
        return cards.notice_card(
            Message.text(f"Thanks: item #{feedback_id} now belongs to {topic}; Upside learnt it.")
        )

    async def _topic_form(self, activity: Activity, actor: Actor, verb: str, data: dict) -> dict:
        """The admin card's forms run as the same commands an admin could type."""
        if verb == cards.SAVE_TOPIC:
            name = str(data.get("name") or "").strip()
            exists = await to_thread(self._topic_exists, name)
            words = ["topics", "edit" if exists else "add", name]
            for option in ("department", "description"):
                if str(data.get(option) or "").strip():
                    words += [f"--{option}", str(data[option]).strip()]
        else:
            phrases = [p.strip() for p in str(data.get("phrases") or "").splitlines() if p.strip()]
            words = ["topics", "examples", str(data.get("topic") or ""), *phrases]
        invocation = Invocation(actor, shlex.join(words), "", activity.id or "")
        reply = await self.commands.run(invocation)
        return cards.notice_card(reply)

    def _topics_card(self) -> dict:
        """The admin card: every topic with its department, and the forms to change them."""
        with self.core.session() as session:
            rows = session.exec(
                select(Topic, Department).join(Department, isouter=True).order_by(Topic.name)
            ).all()
            departments = list(session.exec(select(Department.name).order_by(Department.name)))
        topics = [(t.name, d.name if d else "", t.description) for t, d in rows]
        return cards.topics_card(topics, departments)

    def _topic_exists(self, name: str) -> bool:
        with self.core.session() as session:
            return session.exec(select(Topic.id).where(Topic.name == name)).first() is not None


def _mentions(activity: Activity, account: ChannelAccount | None) -> bool:
    """Whether the message @mentions `account` (the bot, for commands in channels)."""
    if account is None:
        return False
    for entity in activity.entities or []:
        mentioned = (entity.additional_properties or {}).get("mentioned") or {}
        if entity.type == "mention" and mentioned.get("id") == account.id:
            return True
    return False


def _in_channel(activity: Activity) -> bool:
    return bool(activity.conversation and activity.conversation.conversation_type == "channel")


def _removal(activity: Activity) -> bool:
    """An activity that says the bot was removed: its reference must not be refreshed."""
    if activity.type == "installationUpdate" and activity.action in ("remove", "remove-upgrade"):
        return True
    removed = activity.members_removed or []
    return any(member.id == activity.recipient.id for member in removed)
