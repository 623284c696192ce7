"""A platform-neutral `Message` as Teams text: markdown for messages, TextBlocks for cards.

Everything people wrote is escaped, so customer words cannot add emphasis, lists, links,
HTML or @mentions; only the spans the core chose are marked up.

    text, entities = render(message, names={"<entra object id>": "Ana Lima"})
    activity = Activity(type="message", text=text, text_format="markdown", entities=entities)
    card_body = text_blocks(message, names)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

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

ELLIPSIS = "…"
CARD_TEXT_BYTES = 20_000  # what `text_blocks` may spend by default: room is left for the rest
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}  # no HTML, no <at> mention from words
_ALWAYS = frozenset("\\`*_[]()~")  # emphasis, code, links and strike-through, anywhere
_LINE_START = frozenset("-+#=")  # a list, a heading or a heading's underline
_URL_SAFE = "/:?#[]@!$&+,;=%~-._"  # kept in link targets; "(", ")", "<", ">", spaces encoded
_NO_NAME = "a colleague"
_MIN_LINE = 200  # a line gets at least this many bytes, or the rest is cut
_LINE_COST = 8  # "- ", the separator, and the markup an exhausted span may still add


def escape(text: str, budget: int | None = None) -> str:
    """`text` shown as written in Teams markdown (messages and card TextBlocks).

    With `budget`, the result is cut (ending in "…") so that it takes at most `budget`
    bytes as a JSON string; cuts fall between the characters of `text`, never inside
    an escape.
    """
    pieces = _escaped_pieces(text.replace("\r\n", "\n").replace("\r", "\n"))
    if budget is None or _json_size("".join(pieces)) <= budget:
        return "".join(pieces)
    kept, size = [], _json_size(ELLIPSIS)
    for piece in pieces:
        size += _json_size(piece)
        if size > budget:
            break
        kept.append(piece)
    return "".join(kept) + ELLIPSIS


def render(message: Message, names: Mapping[str, str] | None = None) -> tuple[str, list[dict]]:
    """The message as Teams markdown text, with the mention entities Teams needs.

    `names` maps user and channel ids to display names; a mention becomes
    `<at>name</at>` and notifies that person.
    """
    entities: dict[str, dict] = {}
    parts = []
    for block in message.blocks:
        if isinstance(block, Paragraph):
            parts.append(_line(block.spans, names or {}, entities))
        else:
            items = (_line(item, names or {}, entities) for item in block.items)
            parts.append("\n".join(f"- {item}" for item in items))
    return "\n\n".join(parts), list(entities.values())


def text_blocks(
    message: Message, names: Mapping[str, str] | None = None, budget: int = CARD_TEXT_BYTES
) -> list[dict]:
    """The message as Adaptive Card TextBlocks taking about `budget` JSON bytes at most.

    Cards show a mention as the person's name (no notification) and a command between
    backticks; what does not fit is cut, and a last "…" block says so.
    """
    blocks: list[dict] = []
    left = budget
    for block in message.blocks:
        bullet = isinstance(block, Bullets)
        texts = []
        for line in block.items if bullet else (block.spans,):
            if left < _MIN_LINE:  # no room for the rest
                return [*blocks, *_joined(texts), _text_block(ELLIPSIS)]
            text = _line(line, names or {}, None, left - _MIN_LINE)
            texts.append(f"- {text}" if bullet else text)
            left -= _json_size(text) + _LINE_COST
        blocks += _joined(texts)
        left -= _BLOCK_COST
    return blocks


def is_web_url(url: str) -> bool:
    """Whether `url` is an http(s) URL, the only kind Upside links to."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def link_target(url: str) -> str:
    """`url` safe inside a markdown link's parentheses."""
    return quote(url, safe=_URL_SAFE)


def _line(
    line: Line,
    names: Mapping[str, str],
    entities: dict[str, dict] | None,
    budget: int | None = None,
) -> str:
    """One line of spans sharing `budget`; `entities` collects mentions (None: a card)."""
    texts = []
    for span in line:
        texts.append(_span(span, names, entities, budget))
        if budget is not None:
            budget = max(0, budget - _json_size(texts[-1]))
    return "".join(texts)


def _span(
    span: Span, names: Mapping[str, str], entities: dict[str, dict] | None, budget: int | None
) -> str:
    match span:
        case str():
            return escape(span, budget)
        case Strong(text):
            return f"**{escape(text, budget)}**"
        case Code(text):
            code = escape(text, budget)
            return f"<code>{code}</code>" if entities is not None else f"\\`{code}\\`"
        case Link(url, label):
            target = link_target(url)
            if not is_web_url(url) or (budget is not None and 2 * len(target) > budget):
                return escape(f"{label} ({url})", budget)  # shown, not followed
            return f"[{escape(label or url, budget)}]({target})"
        case Mention(user_id, known):
            name = names.get(user_id) or known or _NO_NAME
            if entities is None:
                return escape(name, budget)
            text = f"<at>{''.join(_ENTITIES.get(char, char) for char in name)}</at>"
            entities.setdefault(
                user_id,
                {"type": "mention", "text": text, "mentioned": {"id": user_id, "name": name}},
            )
            return text
        case ChannelRef(channel_id):
            name = names.get(channel_id)
            return escape(f"#{name}" if name else channel_id, budget)
        case Said(text):
            return f"“{escape(text, budget)}”"
    raise TypeError(f"not a span: {span!r}")


def _escaped_pieces(text: str) -> list[str]:
    """Each character of `text` with its escape; line starts lose their list/heading power."""
    pieces = []
    line_start, numbered = True, False  # only spaces, or only digits, since the line began
    for char in text:
        if char in _ENTITIES:
            piece = _ENTITIES[char]
        elif char in _ALWAYS or (line_start and char in _LINE_START):
            piece = "\\" + char
        elif numbered and char == ".":  # "1." would start a numbered list
            piece = "\\."
        else:
            piece = char
        pieces.append(piece)
        if char == "\n":
            line_start, numbered = True, False
        elif char.isdigit() and (line_start or numbered):
            line_start, numbered = False, True
        elif not (char == " " and line_start):
            line_start, numbered = False, False
    return pieces


def _text_block(text: str) -> dict:
    return {"type": "TextBlock", "text": text, "wrap": True}


def _joined(texts: list[str]) -> list[dict]:
    """A paragraph's text, or a list's items, as one TextBlock ("\r" parts list items)."""
    return [_text_block("\r".join(texts))] if texts else []


_BLOCK_COST = len(json.dumps(_text_block(""))) + 2


def _json_size(text: str) -> int:
    """Bytes `text` takes inside a JSON string as Python and botbuilder write it (ASCII)."""
    return len(json.dumps(text)) - 2
