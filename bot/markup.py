"""The markup of Upside's messages: Slack's mrkdwn, with what people wrote escaped.

Customer words, notes and links are escaped wherever a message quotes them, so nobody
can ping a channel or disguise a link through feedback. A Teams adapter translates.
"""

from __future__ import annotations

ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape_mrkdwn(text: str) -> str:
    """`text` with the control characters (&, <, >) escaped."""
    return "".join(ENTITIES.get(char, char) for char in text)


def unescape_mrkdwn(text: str) -> str:
    """What a person typed, from the escaped form in which Slack sends message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def link(url: str, label: str) -> str:
    """A link to `url`; "|" would end the URL inside <url|label>, so it is encoded."""
    return f"<{escape_mrkdwn(url.replace('|', '%7C'))}|{label}>"
