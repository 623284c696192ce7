"""Teams markup and Adaptive Cards: valid 1.5 cards under 28 KB, people's words escaped.

The render test draws every card with the official JavaScript renderer (npm `adaptivecards`)
in headless Chromium; it needs `npm ci --prefix tests/render` and a `chromium` binary, and
under CI=true it fails rather than skips when they are missing.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from adapters.teams import cards
from adapters.teams.markup import escape, render, text_blocks
from bot.digests.digest import DayCount, Digest, Quote, Resolution, TopicCount
from bot.executives.views import ComplaintView, Standing
from bot.messages import ChannelRef, Code, Link, Mention, Message, Said, Strong, bullets, para

SCHEMAS = Path(__file__).parent / "schemas"
RENDER = Path(__file__).parent / "render"
CHART_URL = "https://upside.example/charts/3f9c2a7e.png?expires=1767225600&sig=0a1b2c"
# One line a customer might write to break out of their quote, shown verbatim when rendered.
NASTY = (
    "Refund *now* _please_ **boom** [click](javascript:alert(1)) <at>Boss</at> "
    "<img src=x onerror=alert(1)> &amp; & `rm -rf` ~~gone~~ (see) \\o/ 😡"
)
NASTY_LINES = "\n- not a list\n1. not numbered\n# not a heading\n> not a quote\n"
HUGE = (NASTY + NASTY_LINES) * 40  # over 5,000 characters
LINK = "https://acme.slack.com/archives/C0123/p1767225600000100"
ORIGINAL = "The driver threw my parcel over the gate. Call me: *07700 900123* <at>Boss</at>"


def test_escape_neutralises_markdown_html_and_mentions() -> None:
    escaped = escape(NASTY + NASTY_LINES)
    assert not re.search(r"[*_\[\]()`~<>]", re.sub(r"\\.", "", escaped))  # all escaped
    assert "\\*now\\*" in escaped and "&lt;at&gt;Boss&lt;/at&gt;" in escaped
    assert "&amp;amp;" in escaped  # an entity as typed stays visible as typed
    assert "\n\\- not a list\n1\\. not numbered\n\\# not a heading\n&gt; not" in escaped


def test_escape_cuts_within_budget_between_characters() -> None:
    cut = escape(HUGE, 1_000)
    assert cut.endswith("…") and len(json.dumps(cut)) - 2 <= 1_000
    assert not re.search(r"(?<!\\)\\…|&[a-z]*…", cut)  # no escape cut in half
    assert escape("short", 1_000) == "short"


def test_render_marks_up_only_the_spans_the_core_chose() -> None:
    message = Message.of(
        para(Strong("Claimed"), " by ", Mention("aad-1"), " in ", ChannelRef("19:abc")),
        para("Type ", Code("digest now"), " or read ", Link("https://upside.example/a b", "it")),
        bullets([Said(NASTY), Link("javascript:alert(1)", "click")]),
    )
    text, entities = render(message, {"aad-1": "Ana <Lima>", "19:abc": "logistics"})
    assert text.startswith("**Claimed** by <at>Ana &lt;Lima&gt;</at> in \\#logistics\n\n")
    assert "<code>digest now</code>" in text and "[it](https://upside.example/a%20b)" in text
    assert "“Refund \\*now\\*" in text and "&lt;at&gt;Boss" in text
    assert "- click \\(javascript:alert\\(1\\)\\)" in text  # shown, never a link
    assert entities == [
        {
            "type": "mention",
            "text": "<at>Ana &lt;Lima&gt;</at>",
            "mentioned": {"id": "aad-1", "name": "Ana <Lima>"},
        }
    ]


def test_render_without_names_uses_neutral_labels() -> None:
    text, entities = render(Message.of(para(Mention("aad-9"), " see ", ChannelRef("19:x"))))
    assert text == "<at>a colleague</at> see 19:x"
    assert entities[0]["mentioned"] == {"id": "aad-9", "name": "a colleague"}


def test_text_blocks_show_names_and_stay_within_budget() -> None:
    message = Message.of(para(Mention("aad-1"), " claimed it"), bullets([Said(HUGE)] * 50))
    blocks = text_blocks(message, {"aad-1": "Ana"}, budget=5_000)
    assert blocks[0] == {"type": "TextBlock", "text": "Ana claimed it", "wrap": True}
    assert blocks[1]["text"].startswith("- “Refund \\*now\\*")
    assert blocks[-1]["text"] == "…"
    assert len(json.dumps(blocks)) < 5_000 + 500


# Cards ---------------------------------------------------------------------------------------


def _digest(extreme: bool = False) -> Digest:
    start = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    if extreme:
        topics = [TopicCount(f"Topic {i} *_[]()<>& " + "x" * 60, 10_000 - i, i) for i in range(500)]
        negative = [_quote(i, HUGE, -0.99) for i in range(100)]
        positive = [_quote(1_000 + i, HUGE, 0.99) for i in range(100)]
        resolved = [Resolution(HUGE, HUGE, "Exec <at>X</at> " * 20, LINK) for _ in range(100)]
        return Digest(
            "Logistics <at>everyone</at> " * 300,
            start,
            start + timedelta(days=1),
            {"negative": 10**9, "neutral": 5, "positive": 1},
            {"negative": 1, "neutral": 1, "positive": 10**9},
            topics,
            negative,
            positive,
            [DayCount(date(2026, 5, 1), 10**6, 10**6, 10**6)] * 14,
            10**6,
            resolved,
        )
    return Digest(
        "Logistics",
        start,
        start + timedelta(days=1),
        {"negative": 14, "neutral": 20, "positive": 9},
        {"negative": 9, "neutral": 22, "positive": 10},
        [
            TopicCount("Delivery", 18, 11),
            TopicCount("Packaging", 9, 9),
            TopicCount("Returns", 6, 8),
        ],
        [
            _quote(
                101, "Third week running the parcel shows as *delivered* but nothing came.", -0.93
            ),
            _quote(102, "Box arrived crushed & the glass <b>inside</b> was broken.", -0.88),
        ],
        [_quote(103, "Courier called ahead and left it with my neighbour. Perfect!", 0.91)],
        [DayCount(date(2026, 4, 21) + timedelta(days=i), i % 4, 3, i % 3) for i in range(14)],
        3,
        [Resolution("Refund took a month.", "Refunds now go out within 48 h.", "Dana Kim", LINK)],
    )


def _quote(quote_id: int, text: str, score: float) -> Quote:
    return Quote(quote_id, text, score, "Delivery", "#support-feed", f"{LINK}{quote_id}")


TOPIC_NAMES = ["Delivery", "Packaging", "Returns", "Billing & charges", "App"]
EXTREME_TOPICS = [f"Topic {i} *_[]()<>& " + "x" * 80 for i in range(500)]


def _complaint(
    status: str, text: str = "The driver threw my parcel over the gate."
) -> ComplaintView:
    return ComplaintView(42, text, -0.91, "Delivery", LINK, status)


def _standings(count: int, name: str = "Dana Kim") -> list[Standing]:
    return [
        Standing(f"{name} {i}", f"aad-{i}", 9, 6, 1, timedelta(hours=30 + i) if i % 3 else None)
        for i in range(count)
    ]


def _topics(count: int, long: bool = False) -> list[tuple[str, str, str]]:
    filler = HUGE if long else "Parcels that are late, lost or left in the wrong place."
    return [
        (f"Topic {i} *_<at>x</at>" * (8 if long else 1), "Logistics", filler) for i in range(count)
    ]


def all_cards() -> dict[str, dict]:
    """Every card kind, with realistic and with extreme data."""
    alert = Message.of(
        para(Strong("Delivery"), " complaints tripled today: 42 against 14 a day."),
        bullets([Said("Where is my parcel?"), Said("Third time it is late.")]),
    )
    huge = Message.of(para(Mention("aad-1"), " ", Said(HUGE)), bullets([Said(HUGE)] * 200))
    return {
        "digest": cards.digest_card(_digest(), TOPIC_NAMES, CHART_URL),
        "digest-quiet": cards.digest_card(
            Digest("Finance", _digest().start, _digest().end, {}, {}), TOPIC_NAMES, None
        ),
        "digest-extreme": cards.digest_card(_digest(extreme=True), EXTREME_TOPICS, CHART_URL),
        "alert": cards.alert_card("Logistics", alert),
        "alert-extreme": cards.alert_card(HUGE, huge),
        "notice": cards.notice_card(
            Message.of(para("Claimed by ", Mention("aad-1"))), {"aad-1": "Ana"}
        ),
        "notice-extreme": cards.notice_card(huge),
        "scoreboard": cards.scoreboard_card("April 2026", _standings(6), {"aad-1": "Ana Lima"}),
        "scoreboard-empty": cards.scoreboard_card("April 2026", [], {}),
        "scoreboard-extreme": cards.scoreboard_card(HUGE, _standings(2_000, HUGE), {}),
        **{
            f"complaint-{status}": cards.complaint_card(_complaint(status), "It's yours.")
            for status in ("open", "assigned", "claimed", "resolved")
        },
        "complaint-extreme": cards.complaint_card(_complaint("claimed", HUGE * 10), HUGE),
        "complaint-revealed": cards.complaint_card(_complaint("claimed"), "For you.", ORIGINAL),
        "complaint-revealed-extreme": cards.complaint_card(
            _complaint("claimed", HUGE * 10), HUGE, HUGE * 10
        ),
        "topics": cards.topics_card(_topics(8), ["Logistics", "Finance", "Support"]),
        "topics-extreme": cards.topics_card(
            _topics(500, long=True), [f"{i} {HUGE[:300]}" for i in range(300)]
        ),
    }


CARDS = all_cards()


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft6Validator:
    """The official 1.5 schema, plus the ChoiceSet style "filtered" it leaves out.

    Teams and the 1.5 renderers accept "filtered" (adaptivecards 3.x: targetVersion 1.5, and
    the render test checks it); the generated 1.5 schema lacks it, the 1.6 schema has it.
    """
    schema = json.loads((SCHEMAS / "adaptive-card-1.5.json").read_text())
    schema["definitions"]["ChoiceInputStyle"]["anyOf"][0]["enum"].append("filtered")
    return jsonschema.Draft6Validator(schema)


@pytest.mark.parametrize("name", CARDS)
def test_card_is_valid_adaptive_card_1_5(name: str, validator: jsonschema.Draft6Validator) -> None:
    card = CARDS[name]
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(card)]
    assert not errors
    assert card["version"] == "1.5" and card["fallbackText"]


@pytest.mark.parametrize("name", CARDS)
def test_card_fits_in_28_kb(name: str) -> None:
    assert cards.size(CARDS[name]) <= cards.MAX_BYTES
    assert len(json.dumps(CARDS[name], ensure_ascii=False).encode()) <= cards.MAX_BYTES


@pytest.mark.parametrize("name", CARDS)
def test_card_shows_people_s_words_escaped(name: str) -> None:
    for text in _texts(CARDS[name]):
        for raw in ("*now*", "[click]", "<at>", "<img", "~~gone"):
            assert raw not in text


def test_digest_carries_what_the_slack_digest_carries() -> None:
    card = CARDS["digest"]
    texts = "\n".join(_texts(card))
    for expected in (
        "Logistics",
        "{{DATE(2026-05-04T07:00:00Z, SHORT)}}",
        "43",  # volume
        "+2 vs previous",
        "Delivery",
        "18 (+7)",
        "**Jeers**",
        "\\*delivered\\*",
        "&lt;b&gt;inside&lt;/b&gt;",
        f"[\\#support-feed]({LINK}101)",
        "**Cheers**",
        "**You said → we did**",
        "**Refunds now go out within 48 h.** — Dana Kim",
        "3 complaints are with executives, still open.",
    ):
        assert expected in texts
    assert _find(card, "Image") == [
        {
            "type": "Image",
            "url": CHART_URL,
            "altText": _find(card, "Image")[0]["altText"],
            "size": "stretch",
        }
    ]
    assert not _find(CARDS["digest-quiet"], "Image")


def test_digest_topic_pickers_follow_the_contract() -> None:
    card = CARDS["digest"]
    pickers = _find(card, "Input.ChoiceSet")
    assert [p["id"] for p in pickers] == ["topic_101", "topic_102", "topic_103"]
    assert [c["value"] for c in pickers[0]["choices"]] == [
        "Packaging",
        "Returns",
        "Billing & charges",
        "App",
    ]
    moves = _find(card, "Action.Execute")
    assert [(a["verb"], a["data"]) for a in moves] == [
        ("topic.correct", {"feedback_id": i}) for i in (101, 102, 103)
    ]
    assert moves[0]["fallback"] == {
        "type": "Action.Submit",
        "title": "Move",
        "data": {"feedback_id": 101, "verb": "topic.correct"},
    }


def test_extreme_digest_keeps_bad_news_and_caps_the_rest() -> None:
    card = CARDS["digest-extreme"]
    texts = "\n".join(_texts(card))
    assert "(showing 5 of 100)" in texts and "(showing 3 of 100)" in texts
    assert "and 97 more" in texts
    pickers = _find(card, "Input.ChoiceSet")
    assert len(pickers) == 8 and all(p["choices"] for p in pickers)
    assert pickers[0]["choices"][0]["value"].startswith("Topic 0 *_[]()<>& ")  # digest's own first


def test_a_quote_without_another_topic_has_no_picker() -> None:
    card = cards.digest_card(replace(_digest(), topics=[]), ["Delivery"], None)
    assert not _find(card, "Input.ChoiceSet") and not _find(card, "Action.ShowCard")


def test_digest_refuses_a_chart_that_is_not_https() -> None:
    with pytest.raises(ValueError):
        cards.digest_card(_digest(), [], "data:image/png;base64,AAAA")


@pytest.mark.parametrize(
    ("status", "verbs"),
    [
        ("open", ["complaint.claim"]),
        ("assigned", ["complaint.claim"]),
        ("claimed", ["complaint.resolve", "complaint.release", "complaint.reveal"]),
        ("resolved", []),
    ],
)
def test_complaint_actions_follow_its_status(status: str, verbs: list[str]) -> None:
    card = CARDS[f"complaint-{status}"]
    executes = _find(card, "Action.Execute")
    assert [a["verb"] for a in executes] == verbs
    for action in executes:
        assert action["data"] == {"feedback_id": 42}
        assert action["fallback"]["data"] == {"feedback_id": 42, "verb": action["verb"]}
    assert card["actions"][-1] == {
        "type": "Action.OpenUrl",
        "title": "Open the source",
        "url": LINK,
    }
    texts = "\n".join(_texts(card))
    assert "“The driver threw my parcel over the gate.”" in texts
    assert "-0.91" in texts and "Delivery" in texts


def test_a_revealed_complaint_shows_the_words_as_received_and_no_second_reveal() -> None:
    card = CARDS["complaint-revealed"]
    texts = "\n".join(_texts(card))
    assert "07700 900123" in texts and "\\*07700 900123\\*" in texts  # escaped
    assert "parcel over the gate." in texts and "contact details and all" in texts
    verbs = [a["verb"] for a in _find(card, "Action.Execute")]
    assert verbs == ["complaint.resolve", "complaint.release"]


def test_resolve_asks_for_a_required_multiline_note() -> None:
    (note,) = _find(CARDS["complaint-claimed"], "Input.Text")
    assert note["id"] == "note" and note["isMultiline"] and note["isRequired"]
    assert "Resolved." in _texts(CARDS["complaint-resolved"])


def test_scoreboard_lists_standings_and_caps_them() -> None:
    texts = _texts(CARDS["scoreboard"])
    assert "Ana Lima" in texts and "Dana Kim 0" in texts and "31 h" in texts and "—" in texts
    extreme = "\n".join(_texts(CARDS["scoreboard-extreme"]))
    assert re.search(r"and \d+ more executives", extreme)


def test_topics_card_forms_follow_the_contract() -> None:
    card = CARDS["topics"]
    save, examples = (s["card"] for s in card["actions"])
    assert [i["id"] for i in save["body"]] == ["name", "department", "description"]
    assert [c["value"] for c in save["body"][1]["choices"]] == ["Logistics", "Finance", "Support"]
    assert [i["id"] for i in examples["body"]] == ["topic", "phrases"]
    assert examples["body"][1]["isMultiline"]
    assert [save["actions"][0]["verb"], examples["actions"][0]["verb"]] == [
        "topic.save",
        "topic.examples",
    ]
    assert save["actions"][0]["fallback"]["data"] == {"verb": "topic.save"}
    extreme = CARDS["topics-extreme"]
    assert "more topics" in "\n".join(_texts(extreme))
    assert _find(extreme, "Input.ChoiceSet")[1]["choices"]


def test_attachment_wraps_the_card() -> None:
    card = CARDS["notice"]
    assert cards.attachment(card) == {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": card,
    }
    assert _texts(card) == ["Claimed by Ana"]


# Rendering with the official renderer --------------------------------------------------------

_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_official_renderer_draws_every_card_without_errors(tmp_path: Path) -> None:
    offline = {name: _offline(card) for name, card in CARDS.items()}
    results = render_cards(offline, tmp_path)
    assert set(results) == set(CARDS)
    for name, result in results.items():
        assert result["events"] == [], name
        assert result["rendered"] and result["height"] > 0, name
        assert all(link.startswith("https://") for link in result["links"]), name
        assert not {"script", "iframe", "at"} & set(result["tags"]), name
    quote = results["digest-extreme"]["text"]
    assert NASTY in quote  # shown exactly as written, nothing marked up
    assert "- not a list" in quote and "# not a heading" in quote
    assert "Box arrived crushed & the glass <b>inside</b> was broken." in results["digest"]["text"]


def chromium() -> str:
    """The Chromium binary; skip (fail under CI) when it or the JS packages are missing."""
    missing = []
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        missing.append("a chromium binary (apt-get install -y chromium)")
    if not (RENDER / "node_modules/adaptivecards/dist/adaptivecards.min.js").is_file():
        missing.append("the renderer (npm ci --prefix tests/render)")
    if missing:
        reason = "cannot render cards: missing " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


def render_cards(
    cards_by_name: dict[str, dict],
    tmp: Path,
    only: str | None = None,
    screenshot: Path | None = None,
) -> dict[str, dict]:
    """Each card's parse events, links, tags, text and height from the official renderer."""
    script = tmp / "cards.js"
    script.write_text(f"window.UPSIDE_CARDS = {json.dumps(cards_by_name)};\n")
    query = f"?cards={script.as_uri()}" + (f"&only={only}" if only else "")
    page = (RENDER / "index.html").resolve().as_uri() + query
    dom = _chromium(page, tmp, "--dump-dom")
    found = re.search(r'<pre id="results">(.*?)</pre>', dom, re.S)
    assert found, dom[-2_000:]
    results = json.loads(html.unescape(found.group(1)))
    if screenshot:
        height = results[only]["height"] + 24
        _chromium(page, tmp, f"--screenshot={screenshot}", f"--window-size=510,{height}")
    return results


def _chromium(url: str, tmp: Path, *options: str) -> str:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # nothing leaves the machine
        f"--user-data-dir={tmp / 'chromium'}",
        *options,
        url,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout


def _offline(card: dict) -> dict:
    """The card with its chart drawn from a data URI, so rendering fetches nothing."""
    return json.loads(json.dumps(card).replace(json.dumps(CHART_URL)[1:-1], _PNG))


def _walk(node: object) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _find(card: dict, kind: str) -> list[dict]:
    return [node for node in _walk(card) if node.get("type") == kind]


def _texts(card: dict) -> list[str]:
    """What the card shows as markdown: TextBlocks and facts."""
    texts = [n["text"] for n in _walk(card) if n.get("type") == "TextBlock"]
    for fact_set in _find(card, "FactSet"):
        texts += [part for fact in fact_set["facts"] for part in (fact["title"], fact["value"])]
    return texts
