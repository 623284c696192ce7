"""Upside's Adaptive Cards 1.5 for Teams: plain dicts under 28 KB of JSON whatever the data.

    card = digest_card(digest, topics=["Billing & charges", "Delivery"], chart_url=url)
    await turn_context.send_activity(Activity(type="message", attachments=[attachment(card)]))

Buttons are `Action.Execute` (an `adaptiveCard/action` invoke carrying the verb, `data` and
the inputs); each falls back on older clients to an `Action.Submit` whose data adds `"verb"`.
Verbs and input ids are the contract with the handlers:

    complaint.claim / complaint.release   data {"feedback_id": id}
    complaint.reveal                      data {"feedback_id": id}
    complaint.resolve                     data {"feedback_id": id}, input "note"
    topic.correct                         data {"feedback_id": id}, input "topic_<id>"
    topic.save                            inputs "name", "department", "description"
    topic.examples                        inputs "topic", "phrases" (one phrase per line)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from adapters.teams.markup import escape, is_web_url, link_target, text_blocks
from bot.digests.digest import Digest, Quote
from bot.executives.views import ComplaintView, Standing, duration
from bot.messages import Message

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28 * 1024  # Teams' safe card size

CLAIM, RELEASE, RESOLVE = "complaint.claim", "complaint.release", "complaint.resolve"
REVEAL = "complaint.reveal"
CORRECT_TOPIC, SAVE_TOPIC, ADD_EXAMPLES = "topic.correct", "topic.save", "topic.examples"
NOTE = "note"

TOP_TOPICS = 5
JEERS, CHEERS = 5, 3  # quotes shown; bad news gets the room
RESOLUTIONS = 3
NAME_BYTES = 200  # a department, topic, source or person's name
QUOTE_BYTES = 800  # about 600 characters of plain text; pickers need the room
RESOLUTION_BYTES = 300
COMPLAINT_BYTES = 12_000
INTRO_BYTES = DESCRIPTION_BYTES = 1_000
LINK_BYTES = 1_000  # a longer source link is left off rather than cut
FALLBACK_BYTES = 600
HEADROOM = 1_024  # left free once choice lists have taken what remains
Picker = tuple[dict, Quote, list[dict]]  # a topic list, its quote, the quote's container items
_SHARES = {"negative": "attention", "neutral": "default", "positive": "good"}
_STATES = {
    "assigned": "Assigned to you: **Claim** it to say you are on it.",
    "claimed": "Yours: you claimed it.",
    "open": "In the queue: any executive may claim it.",
    "resolved": "Resolved.",
}


def attachment(card: dict) -> dict:
    """The card as an activity attachment."""
    return {"contentType": CONTENT_TYPE, "content": card}


def size(card: dict) -> int:
    """The card's JSON bytes as botbuilder sends them (ASCII JSON)."""
    return len(json.dumps(card))


def digest_card(digest: Digest, topics: list[str], chart_url: str | None) -> dict:
    """A department's digest; `topics` are the names a quote can be moved to.

    `chart_url` is the HTTPS address of the 14-day chart (None: no chart). Each quote's
    "Wrong topic?" lists the digest's own topics first, then as many others as fit.
    """
    if chart_url is not None and not chart_url.startswith("https://"):
        raise ValueError(f"Teams fetches card images over HTTPS only: {chart_url[:80]!r}")
    pickers: list[Picker] = []
    body = [
        _title(escape(digest.department, NAME_BYTES)),
        _text(f"Customer feedback, {_period(digest)}", isSubtle=True, spacing="none"),
    ]
    if digest.volume:
        body.append(_summary(digest))
    else:
        body.append(_text("A quiet period: no customer feedback reached this department."))
    body += _top_topics(digest)
    body += _quote_group("Jeers", "the most negative", digest.negative, JEERS, pickers, topics)
    body += _quote_group("Cheers", "the most positive", digest.positive, CHEERS, pickers, topics)
    body += _you_said_we_did(digest)
    body += _other_languages(digest)
    if chart_url:
        alt = "Items per day by sentiment over the last 14 days"
        body.append({"type": "Image", "url": chart_url, "altText": alt, "size": "stretch"})
    card = _card(body, [], _digest_fallback(digest))
    _fill_pickers(card, pickers, [topic.name for topic in digest.topics] + topics)
    return card


def complaint_card(complaint: ComplaintView, intro: str, original: str | None = None) -> dict:
    """An executive's complaint: the words, score, topic, source, status and what can be done.

    `original` is the complaint as received, contact details and all, which its holder
    asked to see (Reveal): shown instead of the redacted words, in a card for them alone.
    """
    data = {"feedback_id": complaint.id}
    words = complaint.text if original is None else original
    facts = {
        "Complaint": f"#{complaint.id}",
        "Sentiment": f"{complaint.score:+.2f}",
        "Topic": escape(complaint.topic, NAME_BYTES) if complaint.topic else "none",
        "Status": complaint.status,
    }
    body = [
        _text(escape(intro, INTRO_BYTES)),
        _container([_text(f"“{escape(words, COMPLAINT_BYTES)}”")], style="emphasis"),
        _facts(facts),
        _text(_STATES[complaint.status], isSubtle=True),
    ]
    actions = []
    if complaint.status in ("open", "assigned"):
        actions.append(_execute("Claim", CLAIM, data, style="positive"))
    elif complaint.status == "claimed":
        note = {
            "type": "Input.Text",
            "id": NOTE,
            "label": "What was done?",
            "placeholder": "If the complaint came from a message, this goes in its thread.",
            "isMultiline": True,
            "isRequired": True,
            "errorMessage": "Say what was done.",
            "maxLength": 2000,
        }
        resolve = _execute("Resolve", RESOLVE, data, style="positive")
        actions += [_show("Resolve", [note], [resolve]), _execute("Release", RELEASE, data)]
        actions += [_execute("Reveal", REVEAL, data)] if original is None else []
    if is_web_url(complaint.link) and len(complaint.link) <= LINK_BYTES:
        source = {"type": "Action.OpenUrl", "title": "Open the source", "url": complaint.link}
        actions.append(source)
    if original is not None:
        shown = "As the customer sent it, contact details and all."
        body.insert(1, _text(shown, isSubtle=True, spacing="none"))
    fallback = f"{intro} Complaint #{complaint.id}: “{words}”"
    return _card(body, actions, escape(fallback, FALLBACK_BYTES))


def alert_card(department: str, message: Message) -> dict:
    """A spike alert for a department."""
    title = f"Spike alert: {escape(department, NAME_BYTES)}"
    body = [_title(title, color="attention")]
    body += text_blocks(message, budget=MAX_BYTES - 4 * FALLBACK_BYTES)
    fallback = f"Spike alert: {department}. {message.plain()}"
    return _card(body, [], escape(fallback, FALLBACK_BYTES))


def notice_card(message: Message, names: Mapping[str, str] | None = None) -> dict:
    """Any message as a card, such as a card's new state ("Claimed by Ana")."""
    body = text_blocks(message, names, budget=MAX_BYTES - 4 * FALLBACK_BYTES)
    return _card(body, [], escape(message.plain(), FALLBACK_BYTES))


def share_card(text: str) -> dict:
    """The "Send to Upside" dialog: the message as Upside will store it, and a button to send."""
    shown = text.strip() or "(This message has no words Upside can read; nothing will be stored.)"
    body = [
        _title("Send this message to Upside?"),
        _container([_text(f"“{escape(shown, COMPLAINT_BYTES)}”")], style="emphasis"),
        _text("Upside stores it as customer feedback, with a link back here.", isSubtle=True),
    ]
    send = {"type": "Action.Submit", "title": "Send to Upside", "data": {"action": "send"}}
    return _card(body, [send], escape(f"Send to Upside: {shown}", FALLBACK_BYTES))


def scoreboard_card(month: str, standings: list[Standing], names: Mapping[str, str]) -> dict:
    """The month's executive standings as a table; `names` maps user ids to display names."""
    title = f"Executive scoreboard: {escape(month, NAME_BYTES)}"
    body = [_title(title)]
    if not standings:
        body.append(_text("No executive had complaints this month."))
    else:
        header = ["Executive", "Assigned", "Resolved", "Released", "Open", "Median to resolve"]
        rows = [_row([f"**{label}**" for label in header])]
        shown, left = _fit([_standing_row(s, names) for s in standings], MAX_BYTES - 4_000)
        columns = [{"width": 3}, *({"width": 2} for _ in header[1:])]
        body.append({"type": "Table", "columns": columns, "rows": rows + shown})
        body += [_text(f"and {left} more executives")] if left else []
    resolved = sum(s.resolved for s in standings)
    assigned = sum(s.assigned for s in standings)
    fallback = f"Scoreboard for {month}: {resolved} of {assigned} complaints resolved."
    return _card(body, [], escape(fallback, FALLBACK_BYTES))


def topics_card(topics: list[tuple[str, str, str]], departments: list[str]) -> dict:
    """The admin's topics (name, department, description), with forms to edit and teach them."""
    body = [
        _title("Topics"),
        _text(f"{len(topics)} topics. Create or edit one, or teach one with example phrases."),
    ]
    facts = [
        {
            "title": escape(name, NAME_BYTES),
            "value": f"{escape(department, NAME_BYTES)} — {escape(description, DESCRIPTION_BYTES)}",
        }
        for name, department, description in topics
    ]
    shown, left = _fit(facts, MAX_BYTES // 3)
    body += [{"type": "FactSet", "facts": shown}] if shown else []
    body += [_text(f"and {left} more topics", isSubtle=True)] if left else []
    department = _choice_set("department", "Department", "Pick the department")
    edit = [
        _input("name", "Name (an existing name edits that topic)", maxLength=100),
        department,
        _input("description", "Description", required=False, isMultiline=True, maxLength=500),
    ]
    topic = _choice_set("topic", "Topic", "Type to search topics")
    teach = [
        topic,
        _input("phrases", "Example phrases, one per line", isMultiline=True, maxLength=5000),
    ]
    forms = [
        (
            _show("Create or edit a topic", edit, [_execute("Save topic", SAVE_TOPIC, {})]),
            department,
        ),
        (_show("Add example phrases", teach, [_execute("Add examples", ADD_EXAMPLES, {})]), topic),
    ]
    card = _card(body, [form for form, _ in forms], f"{len(topics)} topics")
    _fill(card, department, departments, MAX_BYTES // 6)
    _fill(card, topic, [name for name, _, _ in topics], MAX_BYTES)
    usable = [form for form, choice_set in forms if choice_set["choices"]]  # no choice, no form
    return _card(body, usable, card["fallbackText"])


def _card(body: list[dict], actions: list[dict], fallback: str) -> dict:
    card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    card |= {"actions": actions} if actions else {}
    return card | {"fallbackText": fallback}


def _text(text: str, **style: object) -> dict:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _title(text: str, **style: object) -> dict:
    return _text(text, size="large", weight="bolder", style="heading", **style)


def _container(items: list[dict], **style: object) -> dict:
    return {"type": "Container", "items": items, **style}


def _facts(facts: dict[str, str]) -> dict:
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts.items()]}


def _execute(title: str, verb: str, data: dict, style: str | None = None) -> dict:
    """An Action.Execute, with the Action.Submit that older clients send instead."""
    action = {"type": "Action.Execute", "title": title, "verb": verb}
    action |= {"data": data} if data else {}
    action |= {"style": style} if style else {}
    fallback = {"type": "Action.Submit", "title": title, "data": {**data, "verb": verb}}
    return action | {"fallback": fallback}


def _show(title: str, body: list[dict], actions: list[dict]) -> dict:
    return {
        "type": "Action.ShowCard",
        "title": title,
        "card": {"type": "AdaptiveCard", "body": body, "actions": actions},
    }


def _input(input_id: str, label: str, required: bool = True, **options: object) -> dict:
    field = {"type": "Input.Text", "id": input_id, "label": label, **options}
    return field | ({"isRequired": True, "errorMessage": "This is needed."} if required else {})


def _choice_set(input_id: str, label: str, placeholder: str) -> dict:
    """A searchable list, filled by `_fill` once the rest of the card is known."""
    return {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "label": label,
        "placeholder": placeholder,
        "style": "filtered",  # Teams: type to search; other hosts show a drop-down
        "isRequired": True,
        "errorMessage": "Pick one from the list.",
        "choices": [],
    }


def _fill(card: dict, choice_set: dict, names: list[str], budget: int) -> None:
    """Give `choice_set` the distinct `names` that fit in `budget` and in the card's room."""
    room = min(budget, MAX_BYTES - HEADROOM - size(card))
    choices = [{"title": name, "value": name} for name in dict.fromkeys(names) if name]
    choice_set["choices"], _ = _fit(choices, room)


def _fit(items: list[dict], budget: int) -> tuple[list[dict], int]:
    """The leading `items` whose JSON fits in `budget` bytes, and how many were left out."""
    used = 0
    for index, item in enumerate(items):
        used += size(item) + 2  # ", " between items
        if used > budget:
            return items[:index], len(items) - index
    return items, 0


def _when(moment: datetime) -> str:
    """A time every reader sees in their own locale and time zone."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    stamp = f"{utc:%Y-%m-%dT%H:%M:%SZ}"
    return f"{{{{DATE({stamp}, SHORT)}}}} {{{{TIME({stamp})}}}}"


def _period(digest: Digest) -> str:
    return f"{_when(digest.start)} → {_when(digest.end)}"


def _change(now: float, before: float, unit: str = "") -> str:
    delta = now - before
    return f"{delta:+.0f}{unit}" if round(delta) else "±0"


def _summary(digest: Digest) -> dict:
    """Volume and sentiment mix, each with its change against the previous period."""
    columns = [_figure(str(digest.volume), "items", _change(digest.volume, digest.previous_volume))]
    for label, colour in _SHARES.items():
        now, before = digest.share(label) * 100, digest.share(label, previous=True) * 100
        columns.append(_figure(f"{now:.0f}%", label, _change(now, before, " pts"), colour))
    return {"type": "ColumnSet", "columns": columns, "spacing": "medium"}


def _figure(value: str, label: str, change: str, colour: str = "default") -> dict:
    return {
        "type": "Column",
        "width": "stretch",
        "items": [
            _text(value, size="extraLarge", weight="bolder", color=colour),
            _text(label, spacing="none"),
            _text(f"{change} vs previous", size="small", isSubtle=True, spacing="none"),
        ],
    }


def _top_topics(digest: Digest) -> list[dict]:
    facts = {
        escape(topic.name, NAME_BYTES): f"{topic.count} ({_change(topic.count, topic.previous)})"
        for topic in digest.topics[:TOP_TOPICS]
    }
    return [_text("**Top topics**", spacing="large"), _facts(facts)] if facts else []


def _quote_group(
    title: str,
    description: str,
    quotes: list[Quote],
    limit: int,
    pickers: list[Picker],
    topics: list[str],
) -> list[dict]:
    """A titled run of at most `limit` quotes, each with its "Wrong topic?" picker."""
    if not quotes:
        return []
    count = f" (showing {limit} of {len(quotes)})" if len(quotes) > limit else ""
    items = [_text(f"**{title}**: {description}, in their words{count}", spacing="large")]
    for quote in quotes[:limit]:
        items.append(_quote(quote, pickers if topics else None))
    return items


def _quote(quote: Quote, pickers: list[Picker] | None) -> dict:
    source = escape(quote.source, NAME_BYTES)
    if is_web_url(quote.link) and len(link_target(quote.link)) <= LINK_BYTES:
        source = f"[{source}]({link_target(quote.link)})"
    topic = escape(quote.topic, NAME_BYTES) if quote.topic else "no topic"
    items = [
        _text(f"“{escape(quote.text, QUOTE_BYTES)}”"),
        _text(f"{source} · {topic}", size="small", isSubtle=True, spacing="small"),
    ]
    if pickers is not None:
        picker = _choice_set(f"topic_{quote.id}", "The right topic", "Type to search topics")
        move = _execute("Move", CORRECT_TOPIC, {"feedback_id": quote.id})
        items.append({"type": "ActionSet", "actions": [_show("Wrong topic?", [picker], [move])]})
        pickers.append((picker, quote, items))
    return _container(items, style="emphasis", spacing="medium")


def _fill_pickers(card: dict, pickers: list[Picker], topics: list[str]) -> None:
    """Share the card's remaining room equally among the quotes' topic lists."""
    if not pickers:
        return
    share = (MAX_BYTES - HEADROOM - size(card)) // len(pickers)
    for picker, quote, items in pickers:
        _fill(card, picker, [name for name in topics if name != quote.topic], share)
        if not picker["choices"]:  # no other topic to move it to
            items.pop()


def _you_said_we_did(digest: Digest) -> list[dict]:
    """Complaints executives resolved in the period, and how many are still open."""
    items = []
    if digest.resolved:
        items.append(_text("**You said → we did**", spacing="large"))
    for resolution in digest.resolved[:RESOLUTIONS]:
        said = _text(f"“{escape(resolution.text, RESOLUTION_BYTES)}”", isSubtle=True)
        done = (
            f"→ **{escape(resolution.note, RESOLUTION_BYTES)}** — "
            f"{escape(resolution.executive, NAME_BYTES)}"
        )
        items.append(_container([said, _text(done, spacing="small")], spacing="medium"))
    if len(digest.resolved) > RESOLUTIONS:
        items.append(_text(f"and {len(digest.resolved) - RESOLUTIONS} more", isSubtle=True))
    if digest.open_complaints:
        open_ = f"{digest.open_complaints} complaints are with executives, still open."
        items.append(_text(open_, spacing="medium"))
    return items


def _other_languages(digest: Digest) -> list[dict]:
    """Items the model cannot read: counted apart and quoted as written, never as a mood."""
    if not digest.other_languages:
        return []
    title = _text(f"**{digest.other_languages} items in other languages**", spacing="medium")
    quotes = [_text(f"“{escape(q.text, RESOLUTION_BYTES)}”", isSubtle=True) for q in digest.foreign]
    return [title, *quotes]


def _digest_fallback(digest: Digest) -> str:
    """What clients that cannot show the card show instead."""
    if not digest.volume:
        return escape(f"{digest.department}: a quiet period, no customer feedback.", FALLBACK_BYTES)
    shares = ", ".join(f"{label} {digest.share(label):.0%}" for label in _SHARES)
    parts = [f"{digest.department}: {digest.volume} items, {shares}."]
    if digest.topics:
        parts.append(f"Top topic: {digest.topics[0].name} ({digest.topics[0].count}).")
    if digest.negative:
        parts.append(f"Most negative: “{digest.negative[0].text}”")
    return escape(" ".join(parts), FALLBACK_BYTES)


def _standing_row(standing: Standing, names: Mapping[str, str]) -> dict:
    name = names.get(standing.user_id) or standing.name
    median = duration(standing.median_to_resolve) if standing.median_to_resolve else "—"
    counts = (standing.assigned, standing.resolved, standing.released, standing.open)
    return _row([escape(name, NAME_BYTES), *(str(count) for count in counts), median])


def _row(texts: list[str]) -> dict:
    cells = [{"type": "TableCell", "items": [_text(text)]} for text in texts]
    return {"type": "TableRow", "cells": cells}
