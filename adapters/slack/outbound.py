"""Posting to Slack: digests as Block Kit, direct messages, thread replies, with retries.

Connection errors, 5xx and 429s are retried here with back-off (then by the send-once rows).
Errors no retry can fix raise `Unreachable` at once: about the place (the channel is gone,
archived, or private without the bot) or the message (too long, invalid blocks), or
`AppUnreachable` about the app itself (uninstalled, token revoked or invalid).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from slack_sdk.errors import SlackApiError
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
from bot.digests.holds import AppUnreachable, credential_of
from bot.executives.scoreboard import scoreboard_message
from bot.executives.views import ComplaintView, Standing
from bot.messages import Message
from bot.ports import Address, Outbound, Posted, Unreachable

log = logging.getLogger(__name__)

_PERMALINK = re.compile(r"/archives/(?P<channel>[A-Z0-9]+)/p(?P<ts>\d{16})")
RETRIES = 3
REFUSED = {  # the place, or the message, refused for good
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "msg_too_long",
    "invalid_blocks",
}
APP_REFUSED = {"invalid_auth", "token_revoked", "account_inactive", "not_authed"}  # the app


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


@asynccontextmanager
async def refusals(token: str | None, workspace: str) -> AsyncIterator[None]:
    """Turn Slack's permanent errors into `Unreachable` (the place or message) and
    `AppUnreachable` (the app, with `workspace` empty where one token serves all)."""
    try:
        yield
    except SlackApiError as exc:
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error", ""))
        if error in APP_REFUSED:
            raise AppUnreachable(f"Slack says {error}", workspace, credential_of(token)) from exc
        if error in REFUSED:
            raise Unreachable(f"Slack says {error}") from exc
        raise


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
        posted, token = await self._post(
            channel.workspace,
            channel=channel.id,
            text=digest_text(digest),
            blocks=digest_blocks(digest, self.topic_names()),
            unfurl_links=False,
        )
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
        text = ":rotating_light: " + mrkdwn(message)
        return (await self._post(channel.workspace, channel=channel.id, text=text))[0]

    async def post_scoreboard(
        self, channel: Address, month: str, standings: list[Standing]
    ) -> Posted:
        """Post the scoreboard as a plain message; people appear as mentions."""
        text = mrkdwn(scoreboard_message(month, standings))
        return (await self._post(channel.workspace, channel=channel.id, text=text))[0]

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
        async with self._refusals(token, person.workspace):
            opened = await self.client.conversations_open(token=token, users=person.id)
        channel = opened["channel"]["id"]
        return (await self._post(person.workspace, channel=channel, unfurl_links=False, **message))[
            0
        ]

    async def reply_in_thread(self, source: str, link: str, message: Message) -> Posted:
        """Reply under the Slack message `link` points at."""
        target = thread_of(link)
        if target is None:
            raise ValueError(f"not a Slack message link: {link}")
        channel, ts = target
        return (await self._post("", channel=channel, thread_ts=ts, text=mrkdwn(message)))[0]

    async def _post(self, workspace: str, **message: object) -> tuple[Posted, str | None]:
        """chat.postMessage with `workspace`'s token; where it landed, and the token."""
        token = await self.token_for(workspace)
        async with self._refusals(token, workspace):
            response = await self.client.chat_postMessage(token=token, **message)
        return Posted(response["channel"], response["ts"]), token

    def _refusals(self, token: str | None, workspace: str) -> AbstractAsyncContextManager[None]:
        """`refusals` for a call in `workspace`: in token mode one token serves them all."""
        shared = self.client.token is not None
        return refusals(token or self.client.token, "" if shared else workspace)
