"""Slack message payloads as the words people read: the text, blocks and attachments a message
carries, with Slack's markup (mentions, links, escapes) spelled out.

Integrations often leave `text` empty or put only a summary there and their words in blocks or
attachments, so the words come from whichever carries more. Everything is first gathered as
Slack mrkdwn (the form `text` arrives in) and then made readable in one pass by `readable`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from adapters.slack.markup import escape_mrkdwn, unescape_mrkdwn

# the message subtypes that are a person's or an integration's words; all others are system notices
FEEDBACK_SUBTYPES = (None, "bot_message", "thread_broadcast", "file_share", "me_message")
TOMBSTONE_TEXT = "This message was deleted."

_MARKUP = re.compile(r"<([^<>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_WORD = re.compile(r"\w+")
_BROADCASTS = {"here", "channel", "everyone"}


def is_tombstone(message: Mapping[str, Any]) -> bool:
    """Whether an edited message is what Slack leaves of a deleted one that had replies."""
    hidden_deleted = message.get("hidden") and message.get("text") == TOMBSTONE_TEXT
    return message.get("subtype") == "tombstone" or bool(hidden_deleted)


def message_markup(message: Mapping[str, Any]) -> str:
    """The words of a message as mrkdwn: `text`, or its blocks when they say more than a summary,
    plus what its attachments add (a `text` that only summarises the attachments is left out)."""
    text = _str(message.get("text"))
    blocks = blocks_markup(message.get("blocks"))
    typed = all(block.get("type") == "rich_text" for block in _dicts(message.get("blocks")))
    if typed and _words(text):  # a person's message: its blocks only mirror what they typed
        body = text
    else:
        body = blocks if len(_words(blocks)) > len(_words(text)) else text
    extra = attachments_markup(message.get("attachments"))
    if not _words(extra) - _words(body):
        return body.strip()
    if _words(body) <= _words(extra):
        return extra.strip()
    return f"{body.strip()}\n{extra.strip()}"


def mentioned_users(markup: str) -> set[str]:
    """The ids of the people `markup` mentions, whose names `readable` needs."""
    return set(_USER.findall(markup))


def readable(markup: str, names: Mapping[str, str]) -> str:
    """`markup` as people read it: `<@W1>` as `@Name` (from `names`, else the id), channels as
    `#name`, links as `label (url)`, `<!here>` as `@here`, and `&amp;` and the like unescaped."""
    parts: list[str] = []
    end = 0
    for match in _MARKUP.finditer(markup):
        parts.append(unescape_mrkdwn(markup[end : match.start()]))
        parts.append(_spelled_out(match.group(1), names))
        end = match.end()
    parts.append(unescape_mrkdwn(markup[end:]))
    return "".join(parts)


def blocks_markup(blocks: Any) -> str:
    """The words of Block Kit blocks: rich text, section text and fields, headers and context."""
    lines: list[str] = []
    for block in _dicts(blocks):
        kind = block.get("type")
        if kind == "rich_text":
            lines.extend(_rich_text(element) for element in _dicts(block.get("elements")))
        elif kind in ("section", "header"):
            lines.append(_text_object(block.get("text")))
            lines.extend(_text_object(field) for field in _dicts(block.get("fields")))
        elif kind == "context":
            texts = (_text_object(element) for element in _dicts(block.get("elements")))
            lines.append(" ".join(text for text in texts if text))
    return "\n".join(line for line in lines if line.strip())


def attachments_markup(attachments: Any) -> str:
    """The words of legacy attachments: pretext, title, text, fields and their own blocks;
    the fallback only when an attachment has nothing else. Link previews are not words."""
    lines: list[str] = []
    for attachment in _dicts(attachments):
        if attachment.get("from_url") or attachment.get("is_app_unfurl"):
            continue  # a preview of a linked page, not what the author wrote
        own = [_str(attachment.get(key)) for key in ("pretext", "title", "text")]
        own += [_field(field) for field in _dicts(attachment.get("fields"))]
        own.append(blocks_markup(attachment.get("blocks")))
        own = [line for line in own if line.strip()]
        lines.extend(own or [_str(attachment.get("fallback"))])
    return "\n".join(line for line in lines if line.strip())


def _spelled_out(token: str, names: Mapping[str, str]) -> str:
    """One `<…>` token of Slack markup as readable text."""
    target, _, label = token.partition("|")
    label = unescape_mrkdwn(label)
    if target.startswith("@"):
        return "@" + (names.get(target[1:]) or label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        command = target[1:]
        if command in _BROADCASTS:
            return f"@{command}"
        if command.startswith("subteam^"):
            return label if label.startswith("@") else "@" + (label or command[8:])
        return label  # dates and other commands carry their readable form as the label
    url = unescape_mrkdwn(target)
    if not label or label in url:
        return label or url
    return f"{label} ({url})"


def _rich_text(element: Mapping[str, Any]) -> str:
    """A rich text section, list, quote or preformatted block as mrkdwn."""
    kind = element.get("type")
    if kind == "rich_text_list":
        return "\n".join(f"• {_rich_text(item)}" for item in _dicts(element.get("elements")))
    return "".join(_rich_part(part) for part in _dicts(element.get("elements")))


def _rich_part(part: Mapping[str, Any]) -> str:
    """One element of rich text (its text is raw, so it is escaped to join the mrkdwn)."""
    match part.get("type"):
        case "text":
            return escape_mrkdwn(_str(part.get("text")))
        case "link":
            url, label = _str(part.get("url")), _str(part.get("text"))
            return f"<{url}|{escape_mrkdwn(label)}>" if label else f"<{url}>"
        case "user":
            return f"<@{_str(part.get('user_id'))}>"
        case "channel":
            return f"<#{_str(part.get('channel_id'))}>"
        case "usergroup":
            return f"<!subteam^{_str(part.get('usergroup_id'))}>"
        case "broadcast":
            return f"<!{_str(part.get('range'))}>"
        case "emoji":
            return f":{_str(part.get('name'))}:"
        case "date":
            return escape_mrkdwn(_str(part.get("fallback")))
        case "rich_text_section" | "rich_text_quote" | "rich_text_preformatted":
            return _rich_text(part)
    return ""


def _text_object(value: Any) -> str:
    """A composition text object as mrkdwn (plain text is raw, so it is escaped)."""
    if not isinstance(value, Mapping):
        return ""
    text = _str(value.get("text"))
    return text if value.get("type") == "mrkdwn" else escape_mrkdwn(text)


def _field(field: Mapping[str, Any]) -> str:
    """An attachment field as `title: value`."""
    title, value = _str(field.get("title")), _str(field.get("value"))
    return f"{title}: {value}" if title and value else title or value


def _words(markup: str) -> set[str]:
    """The distinct words of `markup`, to compare what two parts of a message say."""
    return {word.lower() for word in _WORD.findall(markup)}


def _dicts(value: Any) -> Iterator[Mapping[str, Any]]:
    """The objects in a payload's list; anything malformed is skipped rather than failed on."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def _str(value: Any) -> str:
    """A payload value that should be text, or "" when it is not."""
    return value if isinstance(value, str) else ""
