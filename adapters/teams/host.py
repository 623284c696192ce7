"""Teams' way in: the SDK's CloudAdapter behind `POST /api/teams/messages`, locked down.

CloudAdapter answers 401 only for `PermissionError`; an expired, wrongly signed or unknown-key
token raises PyJWT or plain errors and becomes a 500. So `TeamsHost.handler` parses the
activity itself, runs the SDK's own authentication and turns every failure into a 401, drops
activities from tenants that are not allowed (here, in the handler, before any turn exists),
and only then hands the activity to `CloudAdapter.process_activity`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import requests
from aiohttp import web
from botbuilder.core import Bot, serializer_helper
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import Activity
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ServiceClientCredentialsFactory,
)
from msrest.serialization import Model

from bot.config import Settings

log = logging.getLogger(__name__)

ROUTE = "/api/teams/messages"
Handler = Callable[[web.Request], Awaitable[web.Response]]


@dataclass(frozen=True)
class _SdkConfig:
    """The attributes `ConfigurationBotFrameworkAuthentication` reads, for a single-tenant app."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TENANTID: str
    APP_TYPE: str = "SingleTenant"


class _ReusedCredentials(ServiceClientCredentialsFactory):
    """Hands out one credentials object per app, scope and endpoint, so its tokens are reused.

    The SDK makes new credentials for every turn and proactive send, and each new MSAL app
    asks Entra ID for a new token, blocking the event loop while it waits.
    """

    def __init__(self, inner: ServiceClientCredentialsFactory) -> None:
        self.inner = inner
        self._made: dict[tuple[str, str, str, bool], Any] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        """As the wrapped factory decides."""
        return await self.inner.is_valid_app_id(app_id)

    async def is_authentication_disabled(self) -> bool:
        """As the wrapped factory decides."""
        return await self.inner.is_authentication_disabled()

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> Any:
        """The wrapped factory's credentials, made once for each combination."""
        key = (app_id, oauth_scope, login_endpoint, validate_authority)
        if key not in self._made:
            self._made[key] = await self.inner.create_credentials(*key)
        return self._made[key]


def tenant_of(activity: Activity) -> str:
    """The Entra tenant an activity comes from: channelData.tenant.id, else conversation's."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant")
    if isinstance(tenant, dict) and isinstance(tenant.get("id"), str) and tenant["id"]:
        return tenant["id"]
    return (activity.conversation.tenant_id if activity.conversation else None) or ""


class TeamsHost:
    """The CloudAdapter built from Settings, and the aiohttp handler that feeds it activities.

    Refuses to exist without a complete Teams setup: with no app id the SDK turns
    authentication off. `credentials_factory` replaces only how outbound tokens are made.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        credentials_factory: ServiceClientCredentialsFactory | None = None,
    ) -> None:
        if not (settings.teams_enabled and settings.teams_app_password):
            raise ValueError("Teams needs UPSIDE_TEAMS_APP_ID, _APP_PASSWORD and _TENANT_ID")
        self.app_id: str = settings.teams_app_id or ""
        self.tenants = settings.teams_tenants
        config = _SdkConfig(
            APP_ID=self.app_id,
            APP_PASSWORD=settings.teams_app_password.get_secret_value(),
            APP_TENANTID=settings.teams_tenant_id or "",
        )
        factory = credentials_factory or ConfigurationServiceClientCredentialFactory(config)
        self.authentication = ConfigurationBotFrameworkAuthentication(
            config, credentials_factory=_ReusedCredentials(factory)
        )
        self.adapter = CloudAdapter(self.authentication)

    def handler(self, bot: Bot) -> Handler:
        """The `POST /api/teams/messages` handler that runs `bot` for authenticated activities."""

        async def handle(request: web.Request) -> web.Response:
            return await self._handle(request, bot)

        return handle

    async def _handle(self, request: web.Request, bot: Bot) -> web.Response:
        """Parse, authenticate, check the tenant, then run the turn; see the module docstring."""
        activity = await _read_activity(request)
        if isinstance(activity, web.Response):
            return activity
        try:
            authenticated = await self._authenticate(activity, request.headers.get("Authorization"))
        except requests.RequestException as exc:  # the signing keys could not be fetched
            log.warning("Teams: signing keys unavailable: %s", exc)
            return web.Response(status=503, text="signing keys unavailable")
        if authenticated is None:
            return web.Response(status=401, text="unauthorized")
        if tenant_of(activity) not in self.tenants:  # Web Chat tests have no tenant at all
            log.info("Teams: ignored a %s from tenant %r", activity.type, tenant_of(activity))
            return web.Response(status=200)
        invoke = await self.adapter.process_activity(authenticated, activity, bot.on_turn)
        if invoke is None:
            return web.Response(status=200)
        if invoke.body is None:
            return web.Response(status=invoke.status)
        # ActivityHandler leaves bodies already serialised; CloudAdapter.process would serialise
        # them again and fail (a 500) on the dict.
        body = serializer_helper(invoke.body) if isinstance(invoke.body, Model) else invoke.body
        return web.json_response(body, status=invoke.status)

    async def _authenticate(
        self, activity: Activity, header: str | None
    ) -> AuthenticateRequestResult | None:
        """The SDK's result for a valid Bot Framework channel token, else None.

        Only channel tokens are let through to the SDK: an emulator- or skill-shaped token
        would be checked against other issuers and another key set. The SDK fetches keys with
        a blocking `requests.get` (no timeout), so it runs in a thread, off the event loop.
        """
        if (
            not header
            or _issuer(header) != AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
        ):
            return None
        try:
            result = await asyncio.to_thread(
                asyncio.run, self.authentication.authenticate_request(activity, header)
            )
        except requests.RequestException:
            raise  # an outage fetching keys, not a bad token: the caller answers 503
        except Exception as exc:  # the SDK raises PyJWT, IndexError and bare Exceptions alike
            log.info("Teams: rejected a token: %s: %s", type(exc).__name__, exc)
            return None
        audience = result.claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
        return result if audience == self.app_id else None


def _issuer(header: str) -> Any:
    """The unverified `iss` of a Bearer token, or None when it is not one."""
    scheme, _, token = header.partition(" ")
    if scheme != "Bearer" or not token:
        return None
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None


async def _read_activity(request: web.Request) -> Activity | web.Response:
    """The request's activity, or the 415/400 response that refuses it."""
    if request.content_type != "application/json":
        return web.Response(status=415, text="expected application/json")
    try:
        body = await request.json()
        activity = Activity.deserialize(body) if isinstance(body, dict) else None
    except ValueError:  # bad JSON, bad UTF-8, or fields of the wrong shape
        activity = None
    if activity is None or not isinstance(activity.type, str) or not activity.type:
        return web.Response(status=400, text="expected an activity")
    if not isinstance(activity.service_url, str) or not activity.service_url:
        return web.Response(status=400, text="expected a serviceUrl")
    tenant = (body.get("conversation") or {}).get("tenantId")
    if activity.conversation and not activity.conversation.tenant_id and isinstance(tenant, str):
        activity.conversation.tenant_id = tenant  # Teams sends tenantId; the SDK reads "tenantID"
    return activity
