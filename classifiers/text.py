"""What the model reads: emoji spelled out as words, the same in training and in use.

The MiniLM vocabulary knows almost no emoji: "😡😡😡" and "😍😍" both become unknown
tokens and look alike. Each emoji is replaced by its Unicode CLDR name ("enraged face",
"smiling face with heart-eyes"), which the model can read.
"""

from __future__ import annotations

import re

import emoji

SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")  # a tone says nothing about the feeling


def prepare(text: str) -> str:
    """`text` with every emoji replaced by its name between spaces, and spaces collapsed."""
    if emoji.emoji_count(text) == 0:
        return text
    spelled = emoji.demojize(SKIN_TONES.sub("", text), delimiters=(" ", " "), language="en")
    return " ".join(spelled.replace("_", " ").split())
