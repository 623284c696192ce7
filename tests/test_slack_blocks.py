"""Slack Block Kit for digests: Slack's limits, escaping, the wrong-topic select, bad news kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack.blocks import digest_blocks, digest_text, parse_wrong_topic, topic_options
from bot.digests.digest import Digest, Quote, Resolution, TopicCount

END = datetime(2026, 11, 24, 9, tzinfo=UTC)
START = END - timedelta(days=1)
TOPICS = ["Billing & charges", "Delivery", "App crashes", "Refunds"]


def _digest(**changes) -> Digest:
    fields = {
        "department": "Billing",
        "start": START,
        "end": END,
        "sentiment": {"negative": 6, "neutral": 3, "positive": 1},
        "previous_sentiment": {"negative": 2, "neutral": 4, "positive": 2},
        "topics": [TopicCount("Billing & charges", 7, 3), TopicCount("Refunds", 3, 3)],
        "negative": [
            Quote(1, "Charged twice & no reply", -0.97, "Billing & charges", "zendesk", ""),
            Quote(2, "Refund took a month", -0.81, "Refunds", "slack", "https://x.test/p/2"),
        ],
        "positive": [Quote(3, "Sorted in minutes, thanks", 0.95, None, "webhook", "")],
    }
    return Digest(**{**fields, **changes})


def _texts(blocks: list[dict]) -> list[str]:
    """Every mrkdwn string in the blocks, in order."""
    found = []
    for block in blocks:
        if "text" in block and block["text"]["type"] == "mrkdwn":
            found.append(block["text"]["text"])
        found.extend(element["text"] for element in block.get("elements", []))
    return found


def _quote_sections(blocks: list[dict]) -> dict[int, dict]:
    return {
        int(block["block_id"].removeprefix("quote-")): block
        for block in blocks
        if block.get("block_id", "").startswith("quote-")
    }


def _assert_within_slack_limits(blocks: list[dict]) -> None:
    assert 0 < len(blocks) <= 50
    block_ids = [block["block_id"] for block in blocks if "block_id" in block]
    assert len(block_ids) == len(set(block_ids))
    for block in blocks:
        assert len(block.get("block_id", "")) <= 255
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= 150
        elif block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            assert all(0 < len(element["text"]) <= 3000 for element in block["elements"])
        else:
            raise AssertionError(f"unexpected block type {block['type']}")
        accessory = block.get("accessory")
        if accessory:
            assert accessory["type"] == "external_select"  # options: `topic_options`
            assert len(accessory["action_id"]) <= 255
            assert len(accessory["placeholder"]["text"]) <= 150


def test_a_digest_of_long_texts_and_many_quotes_stays_within_slack_limits():
    topics = [f"Topic {n} & <{'x' * 90}>"[:100] for n in range(12)]
    long_text = ("Everything & <nothing> went wrong.\n" * 200).strip()
    negative = [
        Quote(n, long_text, -0.9, topics[n % 12], "s" * 100 + "&", "https://x.test/?a=1&b=2")
        for n in range(1, 31)
    ]
    positive = [Quote(100 + n, long_text, 0.9, None, "webhook", "") for n in range(30)]
    digest = _digest(
        department="D" * 400,
        topics=[TopicCount(name, 12 - n, n) for n, name in enumerate(topics)],
        negative=negative,
        positive=positive,
    )

    blocks = digest_blocks(digest, topics)

    _assert_within_slack_limits(blocks)
    shown = _quote_sections(blocks)
    assert 1 in shown  # the most negative quote survives the cut
    assert all(section["text"]["text"].startswith(">") for section in shown.values())
    assert all(line.startswith(">") for line in shown[1]["text"]["text"].split("\n"))
    assert any("showing" in text and "of 30" in text for text in _texts(blocks))
    top = next(text for text in _texts(blocks) if text.startswith("*Top topics*"))
    assert top.count("\n•") == 5


def test_customer_text_is_escaped_for_mrkdwn():
    quote = Quote(
        9,
        "<script>alert(1)</script> & <!channel>",
        -0.9,
        "R&D <ops>",
        "src<&>",
        "https://x/?a=1&b=2",
    )
    digest = _digest(negative=[quote], topics=[TopicCount("R&D <ops>", 1, 0)])

    joined = "\n".join(_texts(digest_blocks(digest, TOPICS)))
    text = digest_text(digest)

    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;" in joined
    assert "R&amp;D &lt;ops&gt;" in joined
    assert "<https://x/?a=1&amp;b=2|src&lt;&amp;&gt;>" in joined
    for rendered in (joined, text):
        assert "<script>" not in rendered
        assert "<!channel>" not in rendered
        assert " & " not in rendered
    assert "&lt;script&gt;" in text


def test_each_quote_offers_every_other_topic_as_a_correction():
    digest = _digest()
    blocks = digest_blocks(digest, TOPICS)

    sections = _quote_sections(blocks)
    quotes = [*digest.negative, *digest.positive]
    assert sorted(sections) == [quote.id for quote in quotes]
    for quote in quotes:
        select = sections[quote.id]["accessory"]
        assert sections[quote.id]["block_id"] == f"quote-{quote.id}"
        assert select["type"] == "external_select"  # Slack asks for the topics as one types
        assert select["action_id"] == "wrong_topic"
        assert select["placeholder"]["text"] == "Wrong topic?"
        assert select["min_query_length"] == 0
    options = topic_options(7, [*TOPICS, "Delivery"])  # a repeated name is offered once
    assert [option["value"] for option in options] == [f"7|{name}" for name in TOPICS]
    assert [option["text"]["text"] for option in options] == TOPICS
    _assert_within_slack_limits(blocks)


def test_a_select_holds_at_most_a_hundred_topics_and_none_when_nothing_else_exists():
    many = [f"Topic {n}" for n in range(150)]
    assert len(topic_options(1, many)) == 100
    _assert_within_slack_limits(digest_blocks(_digest(), many))

    alone = _quote_sections(digest_blocks(_digest(), ["Billing & charges"]))
    assert "accessory" not in alone[1]  # its own topic is the only one: nothing to offer
    assert alone[3]["accessory"]["type"] == "external_select"


def test_quotes_show_source_topic_and_link():
    blocks = digest_blocks(_digest(), TOPICS)
    texts = _texts(blocks)

    assert "zendesk · Billing &amp; charges" in texts
    assert "<https://x.test/p/2|slack> · Refunds" in texts
    assert "webhook · no topic" in texts
    jeers = next(i for i, text in enumerate(texts) if text.startswith("*Jeers*"))
    cheers = next(i for i, text in enumerate(texts) if text.startswith("*Cheers*"))
    assert jeers < texts.index(">Charged twice &amp; no reply") < cheers
    assert texts.index(">Sorted in minutes, thanks") > cheers


def test_the_summary_gives_volume_sentiment_and_their_changes():
    blocks = digest_blocks(_digest(), TOPICS)

    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Billing", "emoji": True},
    }
    assert f"<!date^{int(START.timestamp())}^" in blocks[1]["elements"][0]["text"]
    summary = blocks[2]["text"]["text"]
    assert "*10* items (+2 vs the previous period)" in summary
    assert ":red_circle: negative 60% (+35 pts)" in summary
    assert ":white_circle: neutral 30% (-20 pts)" in summary
    assert ":large_green_circle: positive 10% (-15 pts)" in summary
    assert blocks[3]["text"]["text"] == (
        "*Top topics*\n• Billing &amp; charges: 7 (+4)\n• Refunds: 3 (±0)"
    )


def test_negative_quotes_are_never_dropped_to_make_room():
    negative = [Quote(n, f"bad {n}", -0.9, None, "s", "") for n in range(1, 61)]
    positive = [Quote(100 + n, f"good {n}", 0.9, None, "s", "") for n in range(10)]
    blocks = digest_blocks(_digest(negative=negative, positive=positive), TOPICS)

    _assert_within_slack_limits(blocks)
    shown = list(_quote_sections(blocks))
    jeers = [quote_id for quote_id in shown if quote_id < 100]
    assert jeers == list(range(1, len(jeers) + 1))  # the most negative, in order
    assert len(jeers) >= 20
    assert shown[len(jeers) :] == [100]  # the best cheer keeps its place
    assert any("showing" in text and "of 60" in text for text in _texts(blocks))
    assert any("showing 1 of 10" in text for text in _texts(blocks))


def test_a_quiet_period_is_one_short_line():
    quiet = _digest(
        sentiment={"negative": 0, "neutral": 0, "positive": 0},
        topics=[],
        negative=[],
        positive=[],
    )

    blocks = digest_blocks(quiet, TOPICS)

    assert [block["type"] for block in blocks] == ["header", "context", "section"]
    assert "quiet period" in blocks[2]["text"]["text"]
    assert "\n" not in blocks[2]["text"]["text"]
    assert digest_text(quiet) == "Billing: a quiet period, no customer feedback."


def test_digest_text_carries_the_essentials_and_the_most_negative_quote():
    text = digest_text(_digest())

    assert text.startswith("Billing: 10 items")
    assert "negative 60%, neutral 30%, positive 10%" in text
    assert "Top topic: Billing &amp; charges (7)" in text
    assert "Most negative: “Charged twice &amp; no reply” (zendesk)" in text
    assert "Refund took a month" not in text


@pytest.mark.parametrize("name", ["Delivery", "R&D | ops", "Ünïcode 🚚"])
def test_parse_wrong_topic_reads_back_what_the_select_offers(name):
    assert parse_wrong_topic(topic_options(42, [name])[0]["value"]) == (42, name)


@pytest.mark.parametrize(
    "value", ["", "42", "42|", "|Delivery", "x|Delivery", "-1|Delivery", " 4|Delivery", "٤|D"]
)
def test_parse_wrong_topic_rejects_malformed_values(value):
    with pytest.raises(ValueError, match="wrong-topic"):
        parse_wrong_topic(value)


def test_you_said_we_did_shows_resolutions_and_open_complaints():
    done = Resolution("Charged twice <again>", "Refunded & fixed the biller", "Dana", "")
    blocks = digest_blocks(_digest(resolved=[done], open_complaints=2), ["Delivery"])
    text = "\n".join(_texts(blocks))
    assert "You said, we did" in text
    assert "Charged twice &lt;again&gt;" in text and "Refunded &amp; fixed the biller" in text
    assert "2 complaints are with executives" in text
    _assert_within_slack_limits(blocks)
