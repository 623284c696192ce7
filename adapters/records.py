"""The JSON/CSV shape of a feedback record, shared by the webhook and file import."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.intake.ingest import date_problem, link_problem, text_problem
from bot.ports import InboundFeedback

_TEXT_FIELDS = ("text", "source", "external_id", "channel", "author", "link")


class FeedbackRecord(BaseModel):
    """One feedback item as an outside system writes it; `id` is accepted for `external_id`."""

    model_config = ConfigDict(extra="ignore")

    text: str
    source: str = Field(min_length=1, max_length=100)
    external_id: str = Field("", max_length=200, validation_alias=AliasChoices("external_id", "id"))
    channel: str = ""
    author: str = ""
    created_at: datetime | None = None
    link: str = ""

    @field_validator("external_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: object) -> object:
        if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
            raise ValueError("must be a string or a number")
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # 42.0 and 42 are the same JSON number
        return str(value) if isinstance(value, int | float) else value

    @field_validator(*_TEXT_FIELDS)
    @classmethod
    def _storable(cls, value: str) -> str:
        if reason := text_problem(value):
            raise ValueError(reason)
        return value

    @field_validator("link")
    @classmethod
    def _web_link(cls, value: str) -> str:
        if reason := link_problem(value):
            raise ValueError(reason)
        return value

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        if reason := date_problem(value):
            raise ValueError(reason)
        return value

    def to_inbound(self, derive_id: bool = False) -> InboundFeedback:
        """The core's view; with `derive_id`, a missing id becomes a hash of the content."""
        external_id = self.external_id
        if not external_id.strip() and derive_id:
            key = f"{self.text}\x1f{self.author}\x1f{self.created_at}"
            external_id = "sha1:" + hashlib.sha1(key.encode()).hexdigest()
        return InboundFeedback(
            source=self.source,
            external_id=external_id,
            text=self.text,
            channel=self.channel,
            author=self.author,
            created_at=self.created_at or datetime.now(UTC),
            link=self.link,
        )


def describe(error: ValidationError, prefix: str = "") -> list[str]:
    """Readable messages such as `text: Field required` for each problem in `error`."""
    messages = []
    for problem in error.errors():
        where = ".".join(str(part) for part in (prefix, *problem["loc"]) if part != "")
        message = problem["msg"].removeprefix("Value error, ")
        messages.append(f"{where}: {message}" if where else message)
    return messages
