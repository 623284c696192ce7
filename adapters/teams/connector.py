"""Teams' way out: references, 1:1s, retries and dead conversations, with the real SDK.

Teams lets a bot post only where it holds a conversation reference, so `TeamsSender` keeps
them in the `Conversation` table and sends through `continue_conversation`, opening a 1:1
with someone it has not talked to yet. botbuilder does not retry: this module retries what
Teams asks to retry, keeps to its per-conversation rate, and marks dead references inactive.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
)
from msrest.exceptions import ClientRequestError, HttpOperationError
from sqlalchemy import Engine
from sqlmodel import select
from urllib3.util.retry import Retry

from adapters.teams.host import tenant_of
from bot.db import insert_new, session_scope
from bot.models import Conversation
from bot.ports import Address, Posted, Unreachable

log = logging.getLogger(__name__)

PLATFORM = "teams"
CHANNEL_ID = "msteams"
THREAD = ";messageid="  # a channel conversation id plus this and a message id is its thread
RETRYABLE = frozenset({412, 429, 502, 504})
GONE = frozenset({403, 404})
T = TypeVar("T")


class TeamsSendError(RuntimeError):
    """The connector refused a request for good (400, 401, 500, ...) or kept failing."""

    def __init__(self, message: str, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass
class Backoff:
    """How long to wait before retry number `attempt`: Retry-After, else exponential with jitter.

    Both are capped; `sleep` and `jitter` are injectable so tests need not wait.
    """

    retries: int = 5
    base: float = 0.5
    cap: float = 30.0
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    jitter: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number `attempt` (0 for the first)."""
        if retry_after is not None:
            return min(self.cap, retry_after)
        return min(self.cap, self.base * 2**attempt) * (0.5 + self.jitter() / 2)


@dataclass
class RateLimiter:
    """At most `rate` posts per `per` seconds into any one conversation (Teams allows 7/s)."""

    rate: int = 7
    per: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    _sent: dict[str, deque[float]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def wait(self, conversation_id: str) -> None:
        """Return when one more post into `conversation_id` stays within the rate."""
        async with self._locks.setdefault(conversation_id, asyncio.Lock()):
            sent = self._sent.setdefault(conversation_id, deque())
            while sent and self.clock() - sent[0] >= self.per:
                sent.popleft()
            if len(sent) >= self.rate:
                await self.sleep(self.per - (self.clock() - sent.popleft()))
            sent.append(self.clock())


class TeamsSender:
    """Remembers where Upside can post in Teams and posts there, retrying as Teams asks.

    Addresses: a person is `Address("teams", <Entra object id>, <tenant>)`; a channel, group
    chat or 1:1 is `Address("teams", <conversation id or channelData.channel.id>, <tenant>)`.
    Activities are sent as given (render them first); results are `Posted(conversation id,
    activity id)`. Permanent refusals (403, 404) mark the reference inactive and raise
    `Unreachable`; others raise `TeamsSendError` once the retries are spent.
    """

    def __init__(
        self,
        adapter: CloudAdapter,
        app_id: str,
        engine: Engine,
        *,
        backoff: Backoff | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.engine = engine
        self.backoff = backoff or Backoff()
        self.limiter = limiter or RateLimiter()

    # ------------------------------------------------------------ references

    def remember(self, turn_context: TurnContext) -> None:
        """Store or refresh the reference of the turn's conversation, and mark it active.

        Call it on every inbound activity: the service URL is regional and can move.
        """
        activity = turn_context.activity
        if activity.channel_id != CHANNEL_ID or not (
            activity.conversation and activity.conversation.id
        ):
            return
        reference = TurnContext.get_conversation_reference(activity)
        reference.activity_id = None  # a proactive post starts its own thread
        kind = activity.conversation.conversation_type or "personal"
        data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
        conversation_id = activity.conversation.id
        values: dict[str, Any] = {"kind": kind, "workspace": tenant_of(activity)}
        if kind == "personal":
            person = activity.from_property
            values["user_id"] = (person.aad_object_id if person else None) or ""
            values["name"] = (person.name if person else None) or ""
        else:
            conversation_id = conversation_id.split(THREAD)[0]
            reference.conversation.id = conversation_id
            channel = data.get("channel") or {}
            values["channel_id"] = channel.get("id") or conversation_id
            team = data.get("team") or {}
            values["name"] = (
                channel.get("name") or activity.conversation.name or team.get("name") or ""
            )
        self._store(conversation_id, reference, values)

    def forget(self, conversation_id: str, reason: str) -> None:
        """Mark a conversation's reference inactive (the bot was removed, or Teams says gone)."""
        with session_scope(self.engine) as session:
            row = _row(session, conversation_id.split(THREAD)[0])
            if row is not None:
                row.active = False
                row.error = reason[:500]
                row.updated_at = datetime.now(UTC)
                session.add(row)
        log.info("Teams: conversation %s is gone: %s", conversation_id, reason)

    def _store(
        self, conversation_id: str, reference: ConversationReference, values: dict[str, Any]
    ) -> None:
        """Insert or refresh a reference; empty values do not overwrite stored ones."""
        values = {
            **values,
            "reference": reference.serialize(),
            "active": True,
            "error": "",
            "updated_at": datetime.now(UTC),
        }
        keys = {"platform": PLATFORM, "conversation_id": conversation_id}
        with session_scope(self.engine) as session:
            if insert_new(session, Conversation, list(keys), **keys, **values) is not None:
                return
            row = _row(session, conversation_id)
            assert row is not None  # it exists: the insert conflicted with it
            for name, value in values.items():
                if value or name in ("active", "error"):
                    setattr(row, name, value)
            session.add(row)

    # ------------------------------------------------------------ sending

    async def send(self, address: Address, activity: Activity) -> Posted:
        """Post `activity` to a person (in their 1:1, opened if need be) or a conversation."""
        if _is_person(address):
            row = self._personal(address) or await self._open_personal(address)
        else:
            row = self._conversation(address.id)
        return await self._post(_reference(row), activity)

    async def reply(
        self, channel_conversation_id: str, message_id: str, activity: Activity
    ) -> Posted:
        """Post `activity` into the thread of message `message_id` in a channel."""
        row = self._conversation(channel_conversation_id)
        reference = _reference(row)
        reference.conversation.id = f"{row.conversation_id}{THREAD}{message_id}"
        return await self._post(reference, activity)

    async def update(self, target: Address | str, activity_id: str, activity: Activity) -> Posted:
        """Replace activity `activity_id` where it was posted: an Address or `Posted.channel`."""
        if isinstance(target, Address):
            row = self._personal(target) if _is_person(target) else self._conversation(target.id)
            if row is None:
                raise Unreachable(f"no Teams 1:1 with {target.id}")
            reference = _reference(row)
        else:
            reference = _reference(self._conversation(target))
            reference.conversation.id = target
        replacement = deepcopy(activity)
        replacement.id = activity_id

        async def act(context: TurnContext) -> str:
            await context.update_activity(replacement)
            return activity_id

        await self._retrying(reference.conversation.id, lambda: self._continue(reference, act))
        return Posted(reference.conversation.id, activity_id)

    async def _post(self, reference: ConversationReference, activity: Activity) -> Posted:
        """Send `activity` where `reference` points, and say where it landed."""

        async def act(context: TurnContext) -> str:
            response = await context.send_activity(activity)
            return response.id if response else ""

        activity_id = await self._retrying(
            reference.conversation.id, lambda: self._continue(reference, act)
        )
        return Posted(reference.conversation.id, activity_id)

    async def _continue(
        self, reference: ConversationReference, act: Callable[[TurnContext], Awaitable[T]]
    ) -> T:
        """Run `act` in a proactive turn and return its result or raise its error.

        The outcome is carried out of the callback because the adapter hands a turn's errors
        to `on_turn_error`, which the bot may set and which need not re-raise.
        """
        outcome: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        async def callback(context: TurnContext) -> None:
            _without_sdk_retries(context)
            try:
                outcome.set_result(await act(context))
            except Exception as exc:
                outcome.set_exception(exc)

        await self.adapter.continue_conversation(reference, callback, self.app_id)
        if not outcome.done():  # a middleware ended the turn early
            raise TeamsSendError("the proactive turn did not reach its callback")
        return outcome.result()

    async def _retrying(
        self, conversation_id: str, attempt: Callable[[], Awaitable[T]], *, forget: bool = True
    ) -> T:
        """`attempt()` within the rate limit, retried on 412, 429, 502, 504 and lost connections.

        403 and 404 mark the conversation inactive (when `forget`), except a 404 in a thread:
        that may mean only the thread's message is gone.
        """
        key = conversation_id.split(THREAD)[0]
        for number in range(self.backoff.retries + 1):
            await self.limiter.wait(key)
            try:
                return await attempt()
            except HttpOperationError as exc:
                status, code = _status(exc)
                if status in GONE:
                    if forget and (status == 403 or THREAD not in conversation_id):
                        self.forget(key, f"{status} {code}".strip())
                    raise Unreachable(
                        f"Teams answered {status} {code} for {conversation_id}"
                    ) from exc
                if status not in RETRYABLE or number == self.backoff.retries:
                    raise TeamsSendError(f"Teams answered {status} {code}", status, code) from exc
                wait = self.backoff.delay(number, _retry_after(exc))
                log.info("Teams: %s on %s, retrying in %.1fs", status, conversation_id, wait)
            except ClientRequestError as exc:
                if number == self.backoff.retries:
                    raise TeamsSendError(f"Teams unreachable: {exc}") from exc
                wait = self.backoff.delay(number, None)
            await self.backoff.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    # ------------------------------------------------------------ 1:1s

    async def _open_personal(self, person: Address) -> Conversation:
        """Create the 1:1 with a person the bot has not talked to, and store its reference.

        Teams needs the tenant, and a service URL and bot account, taken from any reference
        stored for that tenant; it refuses (403) where the app is not installed for them.
        """
        if not person.workspace:
            raise ValueError("a Teams person's Address needs the tenant as its workspace")
        seed = self._in_tenant(person.workspace)
        if seed is None:
            raise Unreachable(f"Upside is not installed anywhere in tenant {person.workspace}")
        known = ConversationReference.deserialize(seed.reference)
        bot = known.bot or ChannelAccount(id=f"28:{self.app_id}")
        parameters = ConversationParameters(
            is_group=False,
            bot=bot,
            members=[ChannelAccount(id=person.id)],
            tenant_id=person.workspace,
            channel_data={"tenant": {"id": person.workspace}},
        )

        async def create() -> str:
            created: asyncio.Future[str] = asyncio.get_running_loop().create_future()

            async def callback(context: TurnContext) -> None:
                created.set_result(context.activity.conversation.id)

            await self.adapter.create_conversation(
                self.app_id, callback, parameters, CHANNEL_ID, known.service_url, None
            )
            if not created.done():  # a middleware ended the turn early
                raise TeamsSendError("the new conversation's turn did not reach its callback")
            return created.result()

        key = f"{person.workspace}/{person.id}"
        conversation_id = await self._retrying(key, create, forget=False)
        reference = ConversationReference(
            bot=bot,
            user=ChannelAccount(id=person.id, aad_object_id=person.id),
            conversation=ConversationAccount(
                id=conversation_id, conversation_type="personal", tenant_id=person.workspace
            ),
            channel_id=CHANNEL_ID,
            service_url=known.service_url,
        )
        values = {"kind": "personal", "workspace": person.workspace, "user_id": person.id}
        self._store(conversation_id, reference, values)
        row = self._personal(person)
        assert row is not None  # just stored
        return row

    # ------------------------------------------------------------ lookups

    def _conversation(self, conversation_id: str) -> Conversation:
        """The stored conversation with that id or channel id; Unreachable if none or inactive."""
        base = conversation_id.split(THREAD)[0]
        with session_scope(self.engine) as session:
            row = (
                _row(session, base)
                or session.exec(
                    select(Conversation).where(
                        Conversation.platform == PLATFORM, Conversation.channel_id == base
                    )
                ).first()
            )
        if row is None:
            raise Unreachable(f"Upside has no Teams conversation {base}")
        if not row.active:
            raise Unreachable(f"Teams conversation {base} is gone: {row.error}")
        return row

    def _personal(self, person: Address) -> Conversation | None:
        """The person's active 1:1 (in the address's tenant, when it names one)."""
        with session_scope(self.engine) as session:
            statement = select(Conversation).where(
                Conversation.platform == PLATFORM,
                Conversation.kind == "personal",
                Conversation.user_id == person.id,
                Conversation.active == True,  # noqa: E712 (SQL, not Python)
            )
            if person.workspace:
                statement = statement.where(Conversation.workspace == person.workspace)
            return session.exec(statement.order_by(Conversation.updated_at.desc())).first()

    def _in_tenant(self, tenant: str) -> Conversation | None:
        """Any stored conversation in `tenant`, active and recent first: a 1:1's seed."""
        with session_scope(self.engine) as session:
            return session.exec(
                select(Conversation)
                .where(Conversation.platform == PLATFORM, Conversation.workspace == tenant)
                .order_by(Conversation.active.desc(), Conversation.updated_at.desc())
            ).first()


def _row(session: Any, conversation_id: str) -> Conversation | None:
    """The Teams conversation stored under exactly that id."""
    return session.exec(
        select(Conversation).where(
            Conversation.platform == PLATFORM, Conversation.conversation_id == conversation_id
        )
    ).first()


def _reference(row: Conversation) -> ConversationReference:
    """The SDK's reference, as `remember` stored it."""
    return ConversationReference.deserialize(row.reference)


def _is_person(address: Address) -> bool:
    """People are Entra object ids (GUIDs); conversation ids look like "19:…" or "a:…"."""
    try:
        uuid.UUID(address.id)
    except ValueError:
        return False
    return True


def _without_sdk_retries(context: TurnContext) -> None:
    """Stop msrest's urllib3 from retrying 5xx updates (3 times, seconds apart) under ours.

    The connector's requests session exists before the turn starts, so its adapters are set
    directly; the SDK is frozen at 4.17.1, so the private path is stable (a test pins it).
    """
    connector = context.turn_state.get(context.adapter.BOT_CONNECTOR_CLIENT_KEY)
    sender = getattr(getattr(getattr(connector, "config", None), "pipeline", None), "_sender", None)
    session = getattr(getattr(sender, "driver", None), "session", None)
    for transport in getattr(session, "adapters", {}).values():
        transport.max_retries = Retry(total=0, raise_on_status=False)


def _status(exc: HttpOperationError) -> tuple[int, str]:
    """The HTTP status of a connector error and its Teams error code ("" if none)."""
    status = getattr(exc.response, "status_code", 0) or 0
    error = getattr(getattr(exc, "error", None), "error", None)
    return status, (getattr(error, "code", None) or "")


def _retry_after(exc: HttpOperationError) -> float | None:
    """The Retry-After of a failed response in seconds (it may be a number or an HTTP date)."""
    value = (getattr(exc.response, "headers", None) or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None
