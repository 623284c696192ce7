"""Slack's documented limits on messages, views and select options, checked on what we build.

    check_message(text, blocks)   # chat.postMessage, chat.update, a response_url reply
    check_view(view)              # views.publish, views.open
    check_options(options)        # an options-load answer

Each first runs slack_sdk's block models (`Block.parse_all`, `View`, `validate_json`), which
validate many limits, then this module's own walk of the JSON: Slack's limits that the models
leave out (message and text sizes, empty texts, context and actions sizes, option counts), and
that customer words never turn into markup (every "<" opens a link, date, mention or channel
that Upside wrote). Limits: https://docs.slack.dev/reference/block-kit/blocks and its pages
per block, element and composition object; lengths count characters, as slack_sdk does.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import Block, Option
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000  # Slack cuts a message's text beyond this
TEXT = 3_000  # a section's text, a context element, any text object
FIELDS = 10
FIELD_TEXT = 2_000
HEADER = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2_000
OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER = 150
LABEL = 2_000
HINT = 2_000
IDENTIFIER = 255  # block_id, action_id, callback_id
INPUT_CHARS = 3_000  # a plain_text_input's max_length and initial_value
MODAL_TITLE = 24  # title, submit and close of a modal
PRIVATE_METADATA = 3_000

_MARKUP = re.compile(  # a link, a date, a person or a channel
    r"<(?:[a-z][a-z0-9+.-]*:[^|<>]+(?:\|[^<>]*)?|!date\^[^<>]+|@[UW][A-Z0-9]+|#[CG][A-Z0-9]+)>"
)


def check_message(text: str, blocks: list[dict]) -> None:
    """A message's `text` and `blocks` are within Slack's limits (AssertionError if not)."""
    for block in Block.parse_all(blocks):
        block.validate_json()
    problems = _text_problems("text", text, MESSAGE_TEXT) + _markup("text", text)
    problems += _count("blocks", blocks, MESSAGE_BLOCKS, least=0)
    problems += _blocks(blocks)
    _assert_none(problems)


def check_view(view: dict) -> None:
    """A Home tab or modal is within Slack's limits (AssertionError if not)."""
    View(**view).validate_json()
    problems = _count("blocks", view["blocks"], VIEW_BLOCKS) + _blocks(view["blocks"])
    if view["type"] == "modal":
        for part in ("title", "submit", "close"):
            if part in view:
                problems += _plain(part, view[part], MODAL_TITLE)
        problems += _length("callback_id", view.get("callback_id", ""), IDENTIFIER)
        problems += _length("private_metadata", view.get("private_metadata", ""), PRIVATE_METADATA)
    _assert_none(problems)


def check_options(options: list[dict]) -> None:
    """An options-load answer (an external select's choices) is within Slack's limits."""
    for option in options:
        Option(**option).validate_json()
    _assert_none(_options("options", options, least=0))


def _assert_none(problems: list[str]) -> None:
    assert not problems, "beyond Slack's limits:\n" + "\n".join(problems)


def _blocks(blocks: list[dict]) -> list[str]:
    problems = []
    ids = [block["block_id"] for block in blocks if "block_id" in block]
    if len(ids) != len(set(ids)):
        problems.append(f"repeated block ids: {ids}")
    for index, block in enumerate(blocks):
        problems += _block(f"blocks[{index}]", block)
    return problems


def _block(where: str, block: dict) -> list[str]:
    kind = block["type"]
    problems = _length(f"{where}.block_id", block.get("block_id", ""), IDENTIFIER)
    if kind == "header":
        problems += _plain(f"{where}.text", block["text"], HEADER)
    elif kind == "section":
        if "text" in block:
            problems += _text(f"{where}.text", block["text"], TEXT)
        for n, field in enumerate(block.get("fields", [])):
            problems += _text(f"{where}.fields[{n}]", field, FIELD_TEXT)
        problems += _count(f"{where}.fields", block.get("fields", []), FIELDS, least=0)
        if "accessory" in block:
            problems += _element(f"{where}.accessory", block["accessory"])
    elif kind == "context":
        problems += _count(f"{where}.elements", block["elements"], CONTEXT_ELEMENTS)
        for n, element in enumerate(block["elements"]):
            problems += _text(f"{where}.elements[{n}]", element, TEXT)
    elif kind == "actions":
        problems += _count(f"{where}.elements", block["elements"], ACTIONS_ELEMENTS)
        for n, element in enumerate(block["elements"]):
            problems += _element(f"{where}.elements[{n}]", element)
    elif kind == "input":
        problems += _plain(f"{where}.label", block["label"], LABEL)
        if "hint" in block:
            problems += _plain(f"{where}.hint", block["hint"], HINT)
        problems += _element(f"{where}.element", block["element"])
    elif kind != "divider":
        problems.append(f"{where}: a {kind} block, which this checker does not know")
    return problems


def _element(where: str, element: dict) -> list[str]:
    kind = element["type"]
    problems = _length(f"{where}.action_id", element.get("action_id", ""), IDENTIFIER)
    if "placeholder" in element:
        problems += _plain(f"{where}.placeholder", element["placeholder"], PLACEHOLDER)
    if kind == "button":
        problems += _plain(f"{where}.text", element["text"], BUTTON_TEXT)
        problems += _length(f"{where}.value", element.get("value", ""), BUTTON_VALUE)
    elif kind == "static_select":
        problems += _options(f"{where}.options", element["options"])
        initial = element.get("initial_option")
        if initial is not None and initial not in element["options"]:
            problems.append(f"{where}.initial_option is not among its options")
    elif kind == "external_select":
        if element.get("min_query_length", 0) < 0:
            problems.append(f"{where}.min_query_length is negative")
    elif kind == "plain_text_input":
        problems += _length(f"{where}.initial_value", element.get("initial_value", ""), INPUT_CHARS)
        if not 0 < element.get("max_length", INPUT_CHARS) <= INPUT_CHARS:
            problems.append(f"{where}.max_length is not within 1 to {INPUT_CHARS}")
    else:
        problems.append(f"{where}: a {kind} element, which this checker does not know")
    return problems


def _options(where: str, options: list[dict], least: int = 1) -> list[str]:
    problems = _count(where, options, OPTIONS, least)
    values = [option["value"] for option in options]
    if len(values) != len(set(values)):
        problems.append(f"{where}: repeated values")
    for n, option in enumerate(options):
        problems += _plain(f"{where}[{n}].text", option["text"], OPTION_TEXT)
        problems += _text_problems(f"{where}[{n}].value", option["value"], OPTION_VALUE)
    return problems


def _text(where: str, text: dict, limit: int) -> list[str]:
    problems = _text_problems(where, text["text"], limit)
    if text["type"] == "mrkdwn":
        problems += _markup(where, text["text"])
    elif text["type"] != "plain_text":
        problems.append(f"{where}: a text of type {text['type']}")
    return problems


def _plain(where: str, text: dict, limit: int) -> list[str]:
    if text.get("type") != "plain_text":
        return [f"{where}: must be plain_text"]
    return _text_problems(where, text["text"], limit)


def _text_problems(where: str, text: str, limit: int) -> list[str]:
    if not text.strip():
        return [f"{where}: empty"]
    return _length(where, text, limit)


def _markup(where: str, text: str) -> list[str]:
    """A "<" outside Upside's own markup is customer text that was not escaped."""
    stray = _MARKUP.sub("", text)
    return [f"{where}: unescaped '<' in {text[:200]!r}"] if "<" in stray else []


def _length(where: str, value: str, limit: int) -> list[str]:
    return [f"{where}: {len(value)} characters, the limit is {limit}"] if len(value) > limit else []


def _count(where: str, items: list[Any], most: int, least: int = 1) -> list[str]:
    if least <= len(items) <= most:
        return []
    return [f"{where}: {len(items)} items, Slack takes {least} to {most}"]
