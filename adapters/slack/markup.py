"""Slack's mrkdwn: the core's messages rendered, what people wrote escaped, mentions read.

Customer words, notes and links are escaped wherever a message quotes them, so nobody
can ping a channel or disguise a link through feedback.
"""

from __future__ import annotations

import re

from bot.messages import (
    Bullets,
    ChannelRef,
    Code,
    Line,
    Link,
    Mention,
    Message,
    Paragraph,
    Said,
    Span,
    Strong,
)

ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
_USER_MENTION = re.compile(r"<@(?P<id>[UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL_MENTION = re.compile(r"<#(?P<id>[CG][A-Z0-9]+)(?:\|[^>]*)?>")


def escape_mrkdwn(text: str) -> str:
    """`text` with the control characters (&, <, >) escaped."""
    return "".join(ENTITIES.get(char, char) for char in text)


def unescape_mrkdwn(text: str) -> str:
    """What a person typed, from the escaped form in which Slack sends message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def link(url: str, label: str) -> str:
    """A link to `url` labelled with mrkdwn `label`; "|" would end the URL, so it is encoded."""
    return f"<{escape_mrkdwn(url.replace('|', '%7C'))}|{label}>"


def command_text(text: str) -> str:
    """A command as the core's router reads it: typed text, mentions as `@U…` and `#C…`."""
    text = _USER_MENTION.sub(lambda m: f"@{m.group('id')}", text)
    return unescape_mrkdwn(_CHANNEL_MENTION.sub(lambda m: f"#{m.group('id')}", text))


def mrkdwn(message: Message) -> str:
    """The message as Slack mrkdwn."""
    lines: list[str] = []
    for block in message.blocks:
        if isinstance(block, Paragraph):
            lines.append(line(block.spans))
        elif isinstance(block, Bullets):
            lines.extend(f"• {line(item)}" for item in block.items)
    return "\n".join(lines)


def line(spans: Line) -> str:
    """A line of spans as mrkdwn."""
    return "".join(span(part) for part in spans)


def span(part: Span) -> str:
    """One span as mrkdwn; only what Upside itself marks up is markup."""
    match part:
        case str():
            return escape_mrkdwn(part)
        case Strong(text):
            return f"*{escape_mrkdwn(text)}*"
        case Code(text):
            return "`" + escape_mrkdwn(text.replace("`", "'")) + "`"
        case Link(url, label):
            return link(url, escape_mrkdwn(label))
        case Mention(user_id):
            return f"<@{user_id}>"
        case ChannelRef(channel_id):
            return (
                f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else escape_mrkdwn(channel_id)
            )
        case Said(text):
            return f"“{escape_mrkdwn(text)}”"
    raise TypeError(f"not a span: {part!r}")
