"""Removes personal data (payment cards, emails, phone numbers) from what employees see."""

from __future__ import annotations

import re

import phonenumbers

CARD = "[card]"
EMAIL = "[email]"
PHONE = "[phone]"

_CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _redact_cards(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        return CARD if _luhn_ok(digits) else match.group()

    return _CARD_CANDIDATE.sub(replace, text)


def _looks_like_phone(match: phonenumbers.PhoneNumberMatch) -> bool:
    """Valid numbers, and numbers written the way people write phones (reserved ranges too)."""
    if phonenumbers.is_valid_number(match.number):
        return True
    digits = sum(char.isdigit() for char in match.raw_string)
    return match.raw_string[0] in "+(0" and digits >= 10


def _redact_phones(text: str, region: str) -> str:
    leniency = phonenumbers.Leniency.POSSIBLE
    for match in reversed(list(phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency))):
        before = text[match.start - 1 : match.start]
        after = text[match.end : match.end + 1]
        if before.isalnum() or after.isalnum():  # digits inside a code such as a tracking id
            continue
        if _looks_like_phone(match):
            text = text[: match.start] + PHONE + text[match.end :]
    return text


def redact(text: str, regions: tuple[str, ...] = ("US", "GB")) -> str:
    """Replace card numbers (Luhn-checked), emails and phone numbers with placeholders.

    Numbers without a country code are read as numbers of each of `regions` in turn.

    >>> redact("Call 415-555-0132 or mail jo@example.com")
    'Call [phone] or mail [email]'
    """
    text = _redact_cards(text)
    text = _EMAIL.sub(EMAIL, text)
    for region in regions:
        text = _redact_phones(text, region)
    return text
