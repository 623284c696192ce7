"""Posting to Slack: digests as Block Kit, direct messages, thread replies, with retries."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import digest_blocks, digest_text
from adapters.slack.complaints import complaint_blocks, complaint_text
from adapters.slack.markup import mrkdwn
from bot.config import Settings
from bot.digests.chart import sentiment_chart
from bot.digests.digest import Digest
from bot.executives.scoreboard import scoreboard_message
from bot.executives.views import ComplaintView, Standing
from bot.messages import Message
from bot.ports import Address, Outbound, Posted

log = logging.getLogger(__name__)

_PERMALINK = re.compile(r"/archives/(?P<channel>[A-Z0-9]+)/p(?P<ts>\d{16})")
RETRIES = 3


def make_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """A Web API client that retries connection errors, 429s (after Retry-After) and 5xx."""
    bot_token = token or (settings.slack_bot_token and settings.slack_bot_token.get_secret_value())
    return AsyncWebClient(
        token=bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
            AsyncServerErrorRetryHandler(max_retry_count=RETRIES),
        ],
    )


def thread_of(link: str) -> tuple[str, str] | None:
    """The channel and message ts a Slack permalink points at."""
    match = _PERMALINK.search(link)
    if match is None:
        return None
    ts = match.group("ts")
    return match.group("channel"), f"{ts[:10]}.{ts[10:]}"


class SlackOutbound(Outbound):
    """Reaches people in Slack; failures surface as exceptions after the retries."""

    def __init__(
        self,
        client: AsyncWebClient,
        topic_names: Callable[[], list[str]],
        token_for: Callable[[str], Awaitable[str | None]],
    ) -> None:
        self.client = client
        self.topic_names = topic_names
        self.token_for = token_for  # a workspace's token; None: the client's own

    async def post_digest(self, channel: Address, digest: Digest) -> Posted:
        """Post the digest with its "Wrong topic?" controls, then its chart in the thread."""
        token = await self.token_for(channel.workspace)
        response = await self.client.chat_postMessage(
            token=token,
            channel=channel.id,
            text=digest_text(digest),
            blocks=digest_blocks(digest, self.topic_names()),
            unfurl_links=False,
        )
        posted = Posted(response["channel"], response["ts"])
        try:
            await self.client.files_upload_v2(
                token=token,
                channel=posted.channel,
                thread_ts=posted.ref,
                content=sentiment_chart(digest),
                filename="sentiment.png",
                title=f"{digest.department}: feedback per day, last {len(digest.daily)} days",
            )
        except Exception:  # the digest is out; a missing chart must not make it post twice
            log.warning("chart upload failed for %s", digest.department, exc_info=True)
        return posted

    async def post_alert(self, channel: Address, department: str, message: Message) -> Posted:
        """Post the alert as a plain message with the department's workspace token."""
        response = await self.client.chat_postMessage(
            token=await self.token_for(channel.workspace),
            channel=channel.id,
            text=":rotating_light: " + mrkdwn(message),
        )
        return Posted(response["channel"], response["ts"])

    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        """Post the scoreboard as a plain message; people appear as mentions."""
        response = await self.client.chat_postMessage(
            token=await self.token_for(channel.workspace),
            channel=channel.id,
            text=mrkdwn(scoreboard_message(month, standings)),
        )
        return Posted(response["channel"], response["ts"])

    async def send_direct(self, person: Address, message: Message) -> Posted:
        """Open (or reuse) the DM with `person` and post there."""
        return await self._direct(person, text=mrkdwn(message))

    async def send_complaint(self, person: Address, complaint: ComplaintView, intro: str) -> Posted:
        """DM the complaint with its Claim, Release and Resolve buttons."""
        return await self._direct(
            person,
            text=complaint_text(complaint, intro),
            blocks=complaint_blocks(complaint, intro),
        )

    async def _direct(self, person: Address, **message: object) -> Posted:
        token = await self.token_for(person.workspace)
        opened = await self.client.conversations_open(token=token, users=person.id)
        channel = opened["channel"]["id"]
        response = await self.client.chat_postMessage(
            token=token, channel=channel, unfurl_links=False, **message
        )
        return Posted(channel, response["ts"])

    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        """Reply under the Slack message `link` points at."""
        target = thread_of(link)
        if target is None:
            raise ValueError(f"not a Slack message link: {link}")
        channel, ts = target
        response = await self.client.chat_postMessage(
            token=await self.token_for(""),
            channel=channel,
            thread_ts=ts,
            text=mrkdwn(message),
        )
        return Posted(channel, response["ts"])
