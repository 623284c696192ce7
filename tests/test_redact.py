"""`bot.redact.redact`: personal data is replaced, look-alike numbers survive."""

from __future__ import annotations

import pytest

from bot.intake.redact import CARD, EMAIL, PHONE, redact


@pytest.mark.parametrize(
    ("secret", "placeholder"),
    [
        ("jo@example.com", EMAIL),
        ("jo.smith+orders@mail.example.co.uk", EMAIL),
        ("+44 20 7946 0958", PHONE),
        ("07700 900123", PHONE),
        ("(415) 555-0132", PHONE),
        ("415-555-0199", PHONE),
        ("+1 212 555 0147", PHONE),
        ("4111 1111 1111 1111", CARD),
        ("5500-0000-0000-0004", CARD),
        ("378282246310005", CARD),
        ("4111111111111111", CARD),
    ],
)
def test_personal_data_is_replaced(secret: str, placeholder: str) -> None:
    text = f"Please reach me at {secret} about my order."
    assert redact(text) == f"Please reach me at {placeholder} about my order."


@pytest.mark.parametrize(
    "text",
    [
        "Order 12345678 still has not shipped.",
        "It was promised for 2026-11-03 and never came.",
        "The driver said he would come at 10:30 and did not.",
        "I paid $45.99 for a kettle that leaks.",
        "Reference 4111111111111112 on the receipt.",  # 16 digits, fails the Luhn check
        "Tracking 1Z999AA10123456784 has not moved since Tuesday.",
        "Order #12345678 was placed on 2026-11-03 at 10:30 for $45.99.",
    ],
)
def test_look_alikes_survive(text: str) -> None:
    assert redact(text) == text


def test_every_kind_in_one_text_is_replaced() -> None:
    text = "Card 4111-1111-1111-1111, mail a.b@example.org, call 07700 900123 after 10:30."
    assert redact(text) == f"Card {CARD}, mail {EMAIL}, call {PHONE} after 10:30."
