"""Platform-neutral messages: what the core says, never how a platform marks it up.

A `Message` is paragraphs and bullet lists of spans. A plain `str` span is text as
written; the other spans say what a piece is (emphasis, a command, a link, a person, a
channel, a customer's own words) and each adapter renders and escapes them for its
platform (Slack mrkdwn, Teams markdown, the terminal).

    Message.of(para(Strong("Topics")), bullets(["Delivery", " → Logistics"]))
    Message.text("Use `digest now` to post a digest.")   # backticks mark commands
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Strong:
    """Emphasised words."""

    text: str


@dataclass(frozen=True, slots=True)
class Code:
    """A command or other literal a person types."""

    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link with its label."""

    url: str
    label: str


@dataclass(frozen=True, slots=True)
class Mention:
    """A person, by their platform id (Slack user id, Teams Entra object id), and name if known."""

    user_id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A channel, by its platform id."""

    channel_id: str


@dataclass(frozen=True, slots=True)
class Said:
    """Someone's own words (a customer's, an executive's note), quoted as written."""

    text: str


Span = str | Strong | Code | Link | Mention | ChannelRef | Said
Line = tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Paragraph:
    """One paragraph: a line of spans."""

    spans: Line


@dataclass(frozen=True, slots=True)
class Bullets:
    """A bullet list, one line of spans per item."""

    items: tuple[Line, ...]


Block = Paragraph | Bullets
_CODE = re.compile(r"`([^`]+)`")


def spans(text: str) -> Line:
    """`text` as spans, with each `backticked` part a `Code` span."""
    parts = _CODE.split(text)
    return tuple(Code(part) if odd else part for odd, part in _alternate(parts) if part)


def _alternate(parts: list[str]):
    return ((index % 2 == 1, part) for index, part in enumerate(parts))


def para(*line: Span) -> Paragraph:
    """A paragraph of the given spans."""
    return Paragraph(tuple(line))


def bullets(items: list[Line] | list[Span]) -> Bullets:
    """A bullet list; an item is a single span or a tuple of spans."""
    return Bullets(tuple(item if isinstance(item, tuple) else (item,) for item in items))


@dataclass(frozen=True, slots=True)
class Message:
    """A message in blocks; `+` joins two messages."""

    blocks: tuple[Block, ...] = ()

    @classmethod
    def of(cls, *blocks: Block) -> Message:
        """A message of the given blocks."""
        return cls(tuple(blocks))

    @classmethod
    def text(cls, text: str) -> Message:
        """Plain text: one paragraph per line, `backticked` parts as commands."""
        return cls(tuple(Paragraph(spans(line)) for line in text.split("\n")))

    def __add__(self, other: Message) -> Message:
        return Message(self.blocks + other.blocks)

    def plain(self) -> str:
        """The words without any markup: for logs, tests, the terminal and notifications."""
        lines: list[str] = []
        for block in self.blocks:
            if isinstance(block, Paragraph):
                lines.append(plain_line(block.spans))
            else:
                lines.extend(f"• {plain_line(item)}" for item in block.items)
        return "\n".join(lines)


def plain_line(line: Line) -> str:
    """A line of spans as unmarked text."""
    return "".join(plain_span(span) for span in line)


def plain_span(span: Span) -> str:
    """One span as unmarked text."""
    match span:
        case str():
            return span
        case Strong(text) | Code(text):
            return text
        case Link(url, label):
            return f"{label} ({url})"
        case Mention(user_id, name):
            return f"@{name or user_id}"
        case ChannelRef(channel_id):
            return f"#{channel_id}"
        case Said(text):
            return f"“{text}”"
    raise TypeError(f"not a span: {span!r}")
