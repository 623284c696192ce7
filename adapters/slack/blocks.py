"""A digest as Slack Block Kit: plain dicts, within Slack's limits, customer text escaped.

    blocks = digest_blocks(digest, topics=["Billing & charges", "Delivery"])
    await client.chat_postMessage(channel=channel, blocks=blocks, text=digest_text(digest))

Each quote carries a "Wrong topic?" menu: an external select whose options Slack asks for as
the person types (`topic_menu`), so every topic can be found; `parse_wrong_topic` reads back
the value of the option picked.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from adapters.slack.markup import ENTITIES, escape_mrkdwn, link
from bot.digests.digest import Digest, Quote

MAX_BLOCKS = 50
HEADER_CHARS = 150
TEXT_CHARS = 3000
MAX_OPTIONS = 100
OPTION_TEXT_CHARS = 75
OPTION_VALUE_CHARS = 150
NAME_CHARS = 100  # a source or topic name shown inline
QUOTE_BLOCK = "quote-"  # a quote's block id is this and the quote's id
TOP_TOPICS = 5
WRONG_TOPIC = "wrong_topic"

_EMOJI = {
    "negative": ":red_circle:",
    "neutral": ":white_circle:",
    "positive": ":large_green_circle:",
}
_BLOCKS_PER_QUOTE = 2  # the words with their select, then source and topic
_QUIET = "A quiet period: no customer feedback reached this department."


def digest_blocks(digest: Digest, topics: list[str]) -> list[dict]:
    """The digest as at most 50 blocks; `topics` are the names a quote can be moved to.

    When quotes overflow the budget, the jeers take all the room but what the best cheer needs,
    and a cut group's title says how many of its quotes are shown: bad news is never dropped.
    """
    head = [
        {"type": "header", "text": _plain(digest.department, HEADER_CHARS)},
        {"type": "context", "elements": [_mrkdwn(_period(digest))]},
        section(_summary(digest) if digest.volume else _QUIET),
    ]
    top = [section(_top_topics(digest))] if digest.topics else []
    top += [section(_you_said_we_did(digest))] if digest.resolved or digest.open_complaints else []
    top += [section(_other_languages(digest))] if digest.other_languages else []
    room = MAX_BLOCKS - len(head) - len(top)
    best_cheer = 1 + _BLOCKS_PER_QUOTE if digest.positive else 0  # a title and one quote
    jeers = _quote_group("Jeers", "the most negative", digest.negative, topics, room - best_cheer)
    room -= len(jeers)
    cheers = _quote_group("Cheers", "the most positive", digest.positive, topics, room)
    return [*head, *top, *jeers, *cheers]


def _you_said_we_did(digest: Digest) -> str:
    """Complaints executives resolved in the period, and how many are still open."""
    lines = [
        f"> {escape_clipped(r.text, 300)}\n"
        f"→ *{escape_clipped(r.note, 400)}* — {escape_mrkdwn(r.executive)}"
        for r in digest.resolved[:5]
    ]
    if digest.resolved:
        lines.insert(0, "*You said, we did*")
    if digest.open_complaints:
        lines.append(f"{digest.open_complaints} complaints are with executives, still open.")
    return _clip("\n".join(lines), TEXT_CHARS)


def _other_languages(digest: Digest) -> str:
    """Items the model cannot read: counted apart and quoted as written, never as a mood."""
    lines = [f"*{digest.other_languages} items in other languages*"]
    lines += [f"> {escape_clipped(quote.text, 300)}" for quote in digest.foreign]
    return _clip("\n".join(lines), TEXT_CHARS)


def digest_text(digest: Digest) -> str:
    """The message's `text`: what notifications and screen readers get instead of the blocks.

    Slack parses this field as mrkdwn too, so customer words are escaped here as well.
    """
    department = escape_clipped(digest.department, NAME_CHARS)
    if not digest.volume:
        return f"{department}: a quiet period, no customer feedback."
    shares = ", ".join(f"{label} {digest.share(label):.0%}" for label in _EMOJI)
    parts = [f"{department}: {digest.volume} items, {shares}."]
    if digest.topics:
        top = digest.topics[0]
        parts.append(f"Top topic: {escape_clipped(top.name, NAME_CHARS)} ({top.count}).")
    if digest.negative:
        worst = digest.negative[0]
        parts.append(
            f"Most negative: “{escape_clipped(worst.text, 300)}” "
            f"({escape_clipped(worst.source, NAME_CHARS)})"
        )
    return " ".join(parts)


def parse_wrong_topic(value: str) -> tuple[int, str]:
    """The (quote id, topic name) in a "Wrong topic?" option value such as "42|Delivery"."""
    quote_id, separator, topic = value.partition("|")
    if not separator or not quote_id.isascii() or not quote_id.isdecimal() or not topic:
        raise ValueError(f"not a wrong-topic value (expected '<quote id>|<topic>'): {value!r}")
    return int(quote_id), topic


def escape_clipped(text: str, limit: int) -> str:
    """`text` with Slack's control characters escaped, cut to `limit` characters with "…".

    The cut falls between characters of `text`, so an entity is never split.
    """
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    kept, size = [], 1  # the ellipsis
    for char in text:
        piece = ENTITIES.get(char, char)
        if size + len(piece) > limit:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(text: str, limit: int) -> dict:
    return {"type": "plain_text", "text": _clip(text, limit), "emoji": True}


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}


def section(text: str) -> dict:
    return {"type": "section", "text": _mrkdwn(text)}


def _change(now: float, before: float, unit: str = "") -> str:
    delta = now - before
    return f"{delta:+.0f}{unit}" if round(delta) else "±0"


def _date(moment: datetime) -> str:
    """A time every reader sees in their own time zone, with a UTC fallback for old clients."""
    fallback = f"{moment:%a %d %b %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _period(digest: Digest) -> str:
    return f"{_date(digest.start)} → {_date(digest.end)}"


def _summary(digest: Digest) -> str:
    volume = (
        f"*{digest.volume}* items ({_change(digest.volume, digest.previous_volume)} "
        "vs the previous period)"
    )
    shares = "   ".join(
        f"{emoji} {label} {digest.share(label):.0%} "
        f"({_change(digest.share(label) * 100, digest.share(label, previous=True) * 100, ' pts')})"
        for label, emoji in _EMOJI.items()
    )
    return f"{volume}\n{shares}"


def _top_topics(digest: Digest) -> str:
    lines = ["*Top topics*"]
    for topic in digest.topics[:TOP_TOPICS]:
        change = _change(topic.count, topic.previous)
        lines.append(f"• {escape_clipped(topic.name, NAME_CHARS)}: {topic.count} ({change})")
    return "\n".join(lines)


def _quote_group(
    title: str, description: str, quotes: list[Quote], topics: list[str], room: int
) -> list[dict]:
    """A titled run of quotes, cut to fit `room` blocks."""
    fits = max(0, (room - 1) // _BLOCKS_PER_QUOTE)
    shown = quotes[:fits]
    if not shown:
        return []
    count = f" (showing {len(shown)} of {len(quotes)})" if len(shown) < len(quotes) else ""
    blocks = [section(f"*{title}*: {description}, in their words{count}")]
    for quote in shown:
        blocks.extend(_quote_blocks(quote, topics))
    return blocks


def _quote_blocks(quote: Quote, topics: list[str]) -> list[dict]:
    """The customer's words as a blockquote with a "Wrong topic?" select, then where from."""
    # Every line of a multi-line quote needs its own ">"; reserve a character for each.
    words = escape_clipped(quote.text, TEXT_CHARS - 1 - quote.text.count("\n"))
    section = {
        "type": "section",
        "block_id": f"{QUOTE_BLOCK}{quote.id}",
        "text": _mrkdwn(">" + words.replace("\n", "\n>")),
    }
    if any(name and name != quote.topic for name in topics):
        section["accessory"] = {
            "type": "external_select",
            "action_id": WRONG_TOPIC,
            "placeholder": {"type": "plain_text", "text": "Wrong topic?"},
            "min_query_length": 0,  # the first 100 show before anything is typed
        }
    source = escape_clipped(quote.source, NAME_CHARS)
    topic = escape_clipped(quote.topic, NAME_CHARS) if quote.topic else "no topic"
    attribution = f"{source} · {topic}"
    if quote.link:
        # "|" would end the URL inside <url|label>; a URL cannot be cut, so one too long to fit
        # leaves the source unlinked.
        linked = f"{link(quote.link, source)} · {topic}"
        attribution = linked if len(linked) <= TEXT_CHARS else attribution
    return [section, {"type": "context", "elements": [_mrkdwn(attribution)]}]


def quote_of(block_id: str) -> int | None:
    """The quote id in a quote block's id ("quote-42"), or None for any other block."""
    number = block_id.removeprefix(QUOTE_BLOCK)
    if number == block_id or not number.isascii() or not number.isdecimal():
        return None
    return int(number)


def topic_options(quote_id: int, names: list[str]) -> list[dict]:
    """The "Wrong topic?" options moving quote `quote_id` to one of `names` (100 at most)."""
    options = []
    for name in dict.fromkeys(names):
        value = f"{quote_id}|{name}"
        # Stored topic names are at most 100 characters; this only stops hand-made input.
        if name and len(value) <= OPTION_VALUE_CHARS:
            options.append({"text": _plain(name, OPTION_TEXT_CHARS), "value": value})
    return options[:MAX_OPTIONS]


def capped(
    lines: list[str], more: Callable[[int], str], most: int | None = None, limit: int = TEXT_CHARS
) -> str:
    """At most `most` of `lines` in `limit` characters, then `more(n)` for the n left out.

    Each line must fit in `limit` with the `more` line (clip long ones first).

        capped(lines, lambda n: f"…and {n} more", most=10)
    """
    most = len(lines) if most is None else most
    if len(lines) <= most and len("\n".join(lines)) <= limit:
        return "\n".join(lines)
    room = limit - len(more(len(lines))) - 1  # its count only shrinks as lines are kept
    kept: list[str] = []
    for line in lines[:most]:
        room -= len(line) + 1
        if room < 0:
            break
        kept.append(line)
    return "\n".join([*kept, more(len(lines) - len(kept))])
