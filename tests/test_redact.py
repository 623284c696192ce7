"""`bot.redact.redact`: personal data is replaced, look-alike numbers survive."""

from __future__ import annotations

import pytest

from bot.intake.redact import CARD, EMAIL, IBAN, PHONE, redact, web_link
from bot.models import FeedbackItem
from bot.ports import InboundFeedback


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
        ("4111.1111.1111.1111", CARD),
        ("5500.0000.0000.0004", CARD),
        ("3782.822463.10005", CARD),  # American Express: 4-6-5
        ("GB82 WEST 1234 5698 7654 32", IBAN),
        ("GB82WEST12345698765432", IBAN),
        ("DE89 3704 0044 0532 0130 00", IBAN),
        ("FR14 2004 1010 0505 0001 3M02 606", IBAN),
        ("NL91-ABNA-0417-1643-00", IBAN),
        ("NO93 8601 1117 947", IBAN),  # the shortest kind
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
        "Reference 4111.1111.1111.1112 on the receipt.",  # dotted, fails the Luhn check
        "Tracking 1234.5678.9012.3456 says delivered.",  # dotted, fails the Luhn check
        "It broke after update 10.4.2.1 on 2026.11.03, router 192.168.100.200.",
        "The total was 1.234.567,89 and order 4111.11111.1111.111 is still open.",
        "Transfer DE89370400440532013001 bounced.",  # an IBAN's shape, wrong check digits
        "Order AB12 3456 7890 1234 5678 was split.",  # no country AB
        "SKU DE1234567890123 is out of stock.",
        "Invoice INV-2026-000123-45 is paid.",
    ],
)
def test_look_alikes_survive(text: str) -> None:
    assert redact(text) == text


def test_every_kind_in_one_text_is_replaced() -> None:
    text = "Card 4111-1111-1111-1111, mail a.b@example.org, call 07700 900123 after 10:30."
    assert redact(text) == f"Card {CARD}, mail {EMAIL}, call {PHONE} after 10:30."


def test_an_iban_ends_where_its_digits_do() -> None:
    text = "Refund GB82 WEST 1234 5698 7654 32 REF 9, not AB12 NO93 8601 1117 947."
    assert redact(text) == f"Refund {IBAN} REF 9, not AB12 {IBAN}."


@pytest.mark.parametrize(
    "link",
    [
        "https://acme.slack.com/archives/C0123/p1767225600000100",
        "http://shop.example.com/orders/12345?utm=mail#review",
        "HTTPS://Example.com/a",
    ],
)
def test_web_links_are_kept(link: str) -> None:
    assert web_link(f" {link} ") == link


@pytest.mark.parametrize(
    "link",
    [
        "mailto:jo@example.com",
        "MAILTO:jo@example.com?subject=Refund",
        "tel:+442079460958",
        "sms:+14155550132",
        "callto:jo.smith",
        "javascript:alert(1)",
        "ftp://files.example.com/jo.csv",
        "jo@example.com",
        "https://jo:secret@example.com/",  # credentials
        "https:///no-host",
        "https://example.com:port/",
        "https://example.com/" + "a" * 1000,  # too long to keep whole
    ],
)
def test_other_links_are_not_shown(link: str) -> None:
    assert web_link(link) == ""


def test_only_web_links_reach_storage(sqlite_core) -> None:
    report = sqlite_core.ingest(
        [
            InboundFeedback("import", "m1", "Refund me.", link="mailto:jo@example.com"),
            InboundFeedback("import", "c1", "Refund me.", link="https://jo:pw@example.com/a"),
            InboundFeedback("import", "w1", "Thanks!", link="https://example.com/r/1"),
        ]
    )
    refused, kept, web = report.results
    assert refused.outcome == "rejected" and "link" in refused.reason
    with sqlite_core.session() as session:
        assert session.get(FeedbackItem, kept.id).link == ""
        assert session.get(FeedbackItem, web.id).link == "https://example.com/r/1"
