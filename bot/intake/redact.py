"""Removes personal data (payment cards, IBANs, emails, phones) from what employees see."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import phonenumbers
from stdnum import iban

CARD = "[card]"
EMAIL = "[email]"
IBAN = "[iban]"
PHONE = "[phone]"

_CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# With dots only in the layouts cards are printed in (4.4.4.4[.1-3], 4.6.5, 4.6.4), so that
# version numbers, addresses and amounts with dots are never read as cards
_DOTTED_CARD = re.compile(
    r"(?<![\d.])(?:\d{4}(?:\.\d{4}){3}(?:\.\d{1,3})?|\d{4}\.\d{6}\.\d{4,5})(?!\d|\.\d)"
)
# A country code and check digits, then 11 to 30 letters and digits, grouped or not
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}")
_IBAN_CANDIDATE = re.compile(r"[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
LINK_CHARS = 1000  # a longer link cannot be stored whole, so it is not shown


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

    return _DOTTED_CARD.sub(replace, _CARD_CANDIDATE.sub(replace, text))


def _iban_end(text: str, start: int) -> int | None:
    """Where the IBAN starting at `start` ends, if one does: "… 7654 32 REF 9" is cut at 32."""
    candidate = _IBAN_CANDIDATE.match(text, start)
    if candidate is None:
        return None
    words = candidate.group()
    ends = [len(words), *(i for i in range(len(words) - 1, 0, -1) if words[i] in " -")]
    return next((start + end for end in ends if iban.is_valid(words[:end])), None)


def _redact_ibans(text: str) -> str:
    """IBANs that pass their country's format and the mod-97 check (python-stdnum)."""
    kept, done = [], 0
    for start in _IBAN_START.finditer(text):
        end = _iban_end(text, start.start()) if start.start() >= done else None
        if end is not None:
            kept += [text[done : start.start()], IBAN]
            done = end
    return "".join(kept) + text[done:]


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
    """Replace IBANs and card numbers (both checksummed), emails and phones with placeholders.

    Numbers without a country code are read as numbers of each of `regions` in turn.

    >>> redact("Call 415-555-0132 or mail jo@example.com")
    'Call [phone] or mail [email]'
    """
    text = _redact_cards(_redact_ibans(text))
    text = _EMAIL.sub(EMAIL, text)
    for region in regions:
        text = _redact_phones(text, region)
    return text


def web_link(url: str) -> str:
    """`url` when employees may follow it: an http(s) address of a host; otherwise "".

    mailto:, tel:, sms: and every other scheme name a person (or run something), and
    ``https://user:password@host`` carries credentials: none of them is shown.

    >>> web_link("https://example.slack.com/archives/C1/p1"), web_link("mailto:jo@example.com")
    ('https://example.slack.com/archives/C1/p1', '')
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if parts.username is not None or parts.password is not None or len(url) > LINK_CHARS:
        return ""
    return url
