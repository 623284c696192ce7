"""Reading Teams activities: their words as plain text, who and where, links back.

Teams sends message bodies as HTML (mentions as `<at>…</at>`, `&nbsp;`, entities);
workflows and connectors often post Adaptive Cards with an empty `text`. Everything
here turns what Teams sends into what the core stores, with no SDK call.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote, urlencode, urlparse

from botbuilder.schema import Activity
from bs4 import BeautifulSoup

from bot.ports import InboundFeedback

SOURCE = "teams"
LINK_HOST = "teams.microsoft.com"
_CARD_TEXT_KEYS = ("text", "title", "subtitle", "value")  # what carries words in a card
_SPACES = re.compile(r"[ \t\u00a0]+")


def html_text(html: str) -> str:
    """Plain text of an HTML body: tags dropped, entities decoded, line breaks kept."""
    soup = BeautifulSoup(html, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "li"]):
        block.insert_after("\n")
    lines = (_SPACES.sub(" ", line).strip() for line in soup.get_text().splitlines())
    return "\n".join(line for line in lines if line)


def card_text(card: object) -> str:
    """The words of an Adaptive Card (TextBlocks, RichText runs, facts), in reading order."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Fact":
                found.append(f"{node.get('title', '')}: {node.get('value', '')}")
                return
            for key in _CARD_TEXT_KEYS:
                if isinstance(node.get(key), str) and node.get("type") != "Input.Text":
                    found.append(node[key])
            for key, child in node.items():
                if key not in _CARD_TEXT_KEYS and key not in {"actions", "selectAction"}:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(card)
    return "\n".join(part.strip() for part in found if part.strip())


def message_text(activity: Activity, drop_mentions: bool = False) -> str:
    """What a message says: its text (HTML made plain), else its cards' words."""
    text = activity.text or ""
    if drop_mentions:
        text = re.sub(r"<at>.*?</at>", " ", text)
    text = html_text(text) if text else ""
    if text:
        return text
    parts = []
    for attachment in activity.attachments or []:
        if attachment.content_type == "application/vnd.microsoft.card.adaptive":
            parts.append(card_text(attachment.content))
        elif attachment.content_type == "text/html" and isinstance(attachment.content, str):
            parts.append(html_text(attachment.content))
    return "\n".join(part for part in parts if part)


def channel_of(activity: Activity) -> str:
    """The Teams channel a channel activity belongs to (its conversation id without thread)."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    channel = data.get("channel") or {}
    if isinstance(channel, dict) and channel.get("id"):
        return channel["id"]
    conversation = activity.conversation.id if activity.conversation else ""
    return (conversation or "").split(";", 1)[0]


def thread_root(activity: Activity) -> str:
    """The id of the thread's first message (the message itself when it starts a thread)."""
    conversation = activity.conversation.id if activity.conversation else ""
    _, _, root = (conversation or "").partition(";messageid=")
    return root or activity.reply_to_id or activity.id or ""


def message_link(channel: str, message_id: str, tenant: str, root: str = "") -> str:
    """A link that opens the message in Teams; it also names the thread to answer in."""
    query = {"tenantId": tenant, "parentMessageId": root or message_id}
    return f"https://{LINK_HOST}/l/message/{quote(channel, safe=':@.')}/{message_id}?" + (
        urlencode({k: v for k, v in query.items() if v})
    )


def thread_of(link: str) -> tuple[str, str] | None:
    """The channel and the thread's first message a Teams message link points at."""
    parsed = urlparse(link)
    parts = parsed.path.split("/")
    if parsed.hostname != LINK_HOST or len(parts) != 5 or parts[1:3] != ["l", "message"]:
        return None
    root = parse_qs(parsed.query).get("parentMessageId", [parts[4]])[0]
    return parts[3], root or parts[4]


def external_id(tenant: str, channel: str, message_id: str) -> str:
    """The id of a Teams message: unique across tenants and channels."""
    return f"{tenant}:{channel}:{message_id}"


def feedback_from_message(activity: Activity, tenant: str) -> InboundFeedback:
    """A channel message (a person's, a workflow's or a connector's) as feedback."""
    channel = channel_of(activity)
    author = activity.from_property
    when = activity.timestamp or datetime.now(UTC)
    return InboundFeedback(
        source=SOURCE,
        external_id=external_id(tenant, channel, activity.id or ""),
        text=message_text(activity),
        channel=channel,
        author=(author.aad_object_id or author.name or author.id or "") if author else "",
        created_at=when if when.tzinfo else when.replace(tzinfo=UTC),
        link=message_link(channel, activity.id or "", tenant, thread_root(activity)),
    )


def feedback_from_payload(payload: dict, activity: Activity, tenant: str) -> InboundFeedback:
    """The message a person sent with "Send to Upside" (a message action's payload)."""
    body = payload.get("body") or {}
    content = body.get("content") or ""
    text = html_text(content) if body.get("contentType", "html") == "html" else content
    channel = channel_of(activity)
    message_id = str(payload.get("id") or "")
    user = (payload.get("from") or {}).get("user") or {}
    created = _instant(payload.get("createdDateTime")) or datetime.now(UTC)
    link = payload.get("linkToMessage") or message_link(channel, message_id, tenant)
    return InboundFeedback(
        source=SOURCE,
        external_id=external_id(tenant, channel, message_id),
        text=text or card_text(payload.get("attachments") or []),
        channel=channel,
        author=user.get("id") or user.get("displayName") or "",
        created_at=created,
        link=link if link.startswith("https://") else "",
    )


def _instant(value: object) -> datetime | None:
    """An ISO time from a payload, or None when it is missing or not a time."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
