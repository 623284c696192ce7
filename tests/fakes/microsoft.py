"""Microsoft's side of Teams, on 127.0.0.1, for the real botbuilder SDK to talk to.

    with FakeIdentity() as identity, sdk_trusts(identity):   # OpenID metadata, JWKS, tokens
        async with FakeConnector() as connector:             # the Bot Connector's REST API
            url = identity.token_url(TENANT)
            factory = FakeCredentialsFactory(APP_ID, "pw", TENANT, token_url=url)  # no MSAL
            host = TeamsHost(settings, credentials_factory=factory)
            body = teams_activity("message_personal", connector.service_url)
            token = mint_token(APP_ID, connector.service_url)   # or spoilt: expires_in=-3600, ...
            connector.fail_next(f"/v3/conversations/{conversation}/activities", 429, times=2)
            ...
            assert connector.calls_to(f"/v3/conversations/{conversation}/activities")[-1].body

The identity server runs in a thread: the SDK fetches keys with a blocking `requests.get`,
which would deadlock against a server on the test's own event loop. The connector runs on the
loop: msrest sends its requests from an executor thread.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jwt
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer
from botframework.connector.auth import (
    AppCredentials,
    ChannelValidation,
    JwtTokenExtractor,
    PasswordServiceClientCredentialFactory,
)
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

FIXTURES = Path(__file__).parent.parent / "fixtures" / "teams"
SERVICE_URL_PLACEHOLDER = "http://127.0.0.1:PORT/"
APP_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"  # the fixtures' bot is 28:APP_ID
TENANT = "5f3c6b1e-2d4a-4c8e-9b7a-1e2d3c4b5a69"  # the fixtures' tenant
FOREIGN_TENANT = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"  # message_foreign_tenant's
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
KID = "upside-test-key"
WEBCHAT_KID = "webchat-only-key"  # a real key of the metadata, endorsed for another channel
ACCESS_TOKEN = "connector-access-token"  # what outbound credentials present to the connector
HMAC_SECRET = "a-shared-secret-no-one-should-accept-for-rs256"

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
WEBCHAT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STRANGER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not in the JWKS

Json = dict[str, Any]


def teams_activity(name: str, service_url: str) -> Json:
    """A recorded-shape Teams activity from tests/fixtures/teams, sent from `service_url`."""
    text = (FIXTURES / f"{name}.json").read_text()
    return json.loads(text.replace(SERVICE_URL_PLACEHOLDER, service_url))


def _jwk(key: rsa.RSAPrivateKey, kid: str, endorsements: list[str]) -> Json:
    """A JWKS entry as Microsoft publishes it, endorsements (channel ids) included."""
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "endorsements": endorsements}


def mint_token(
    app_id: str,
    service_url: str,
    *,
    issuer: str = BOT_FRAMEWORK_ISSUER,
    audience: str | None = None,
    expires_in: int = 3600,
    kid: str | None = None,
    key: Any = None,
    algorithm: str = "RS256",
    claims: Json | None = None,
) -> str:
    """A token as the Bot Framework signs it for a Teams activity; every argument can spoil it.

    `audience` defaults to `app_id`, `kid` to the JWKS's key (`""` leaves it out), `key` to its
    private key (or an HMAC secret for HS* algorithms); `claims` are added last.
    """
    now = int(time.time())
    payload = {
        "serviceurl": service_url,
        "nbf": now - 5,
        "exp": now + expires_in,
        "iss": issuer,
        "aud": app_id if audience is None else audience,
        **(claims or {}),
    }
    if key is None:
        key = HMAC_SECRET if algorithm.startswith("HS") else KEY
    headers = {"kid": KID if kid is None else kid} if kid != "" else {}
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


class FakeIdentity:
    """OpenID metadata, its JWKS and an OAuth token endpoint, served from a thread.

    `token_requests` holds the form of every token request, for tests of the outbound side.
    """

    def __init__(self) -> None:
        self.token_requests: list[dict[str, str]] = []
        self.keys = [_jwk(KEY, KID, ["msteams"]), _jwk(WEBCHAT_KEY, WEBCHAT_KID, ["webchat"])]
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeIdentity:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base_url(self) -> str:
        """The server's root, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def metadata_url(self) -> str:
        """Where the SDK reads the OpenID configuration (Microsoft's is under /v1/.well-known)."""
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    def token_url(self, tenant: str) -> str:
        """The client-credentials token endpoint for `tenant`, as Entra ID's v2.0 one."""
        return f"{self.base_url}/{tenant}/oauth2/v2.0/token"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """The request handler, bound to this server's state."""
        identity = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                """The OpenID configuration and its keys."""
                if self.path == "/v1/.well-known/openidconfiguration":
                    self._json(
                        200,
                        {
                            "issuer": BOT_FRAMEWORK_ISSUER,
                            "jwks_uri": f"{identity.base_url}/v1/.well-known/keys",
                            "id_token_signing_alg_values_supported": ["RS256"],
                        },
                    )
                elif self.path == "/v1/.well-known/keys":
                    self._json(200, {"keys": identity.keys})
                else:
                    self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                """The client-credentials token endpoint; it accepts any secret."""
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                if not self.path.endswith("/oauth2/v2.0/token"):
                    self._json(404, {"error": "not_found"})
                    return
                identity.token_requests.append(form)
                if form.get("grant_type") != "client_credentials":
                    self._json(400, {"error": "unsupported_grant_type"})
                    return
                self._json(
                    200,
                    {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS_TOKEN},
                )

            def _json(self, status: int, body: Json) -> None:
                """Answer `body` as JSON."""
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: pytest shows failures, not every key fetch."""

        return Handler


@contextmanager
def sdk_trusts(identity: FakeIdentity) -> Iterator[None]:
    """Point the SDK's channel token validation at `identity`, with empty key caches around.

    Teams tokens go through `ChannelValidation` whatever the app type (SingleTenant included),
    so this is the one endpoint the production code path reads.
    """
    original = ChannelValidation.open_id_metadata_endpoint
    JwtTokenExtractor.metadataCache.clear()
    ChannelValidation.open_id_metadata_endpoint = identity.metadata_url
    try:
        yield
    finally:
        ChannelValidation.open_id_metadata_endpoint = original
        JwtTokenExtractor.metadataCache.clear()


class FixedTokenCredentials(AppCredentials):
    """Outbound credentials that present `ACCESS_TOKEN`, optionally fetched from a token URL.

    MSAL refuses a plain-http authority, so the token request is made here, as MSAL would.
    """

    def __init__(self, app_id: str, password: str, scope: str, token_url: str | None) -> None:
        super().__init__(app_id=app_id, oauth_scope=scope)
        self.password = password
        self.token_url = token_url
        self._token: str | None = None

    def get_access_token(self, force_refresh: bool = False) -> str:
        """The fixed token, or the one the token endpoint gives (cached until forced)."""
        if self.token_url is None:
            return ACCESS_TOKEN
        if self._token is None or force_refresh:
            response = requests.post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.microsoft_app_id,
                    "client_secret": self.password,
                    "scope": f"{self.oauth_scope}/.default",
                },
                timeout=5,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token


class FakeCredentialsFactory(PasswordServiceClientCredentialFactory):
    """The SDK's password factory (same app-id checks) whose credentials skip MSAL."""

    def __init__(
        self, app_id: str, password: str, tenant_id: str, *, token_url: str | None = None
    ) -> None:
        super().__init__(app_id, password, tenant_id)
        self.token_url = token_url

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        """Credentials for `app_id`, refused for any other app as the real factory does."""
        if not await self.is_valid_app_id(app_id):
            raise Exception("Invalid app_id")
        return FixedTokenCredentials(app_id, self.password, oauth_scope, self.token_url)


@dataclass(frozen=True)
class ConnectorCall:
    """One request to the fake connector: `at` is its `time.monotonic()`, `failed` when it was
    answered with an injected error."""

    method: str
    path: str
    body: Json
    headers: dict[str, str]
    failed: bool
    at: float


@dataclass
class _Failure:
    """An error to answer the next `times` requests with."""

    status: int
    times: int
    retry_after: float | None
    code: str


_ERROR_CODES = {
    400: "BadArgument",
    401: "Unauthorized",
    403: "BotNotInConversationRoster",
    404: "ConversationNotFound",
    412: "PreconditionFailed",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    504: "GatewayTimeout",
}


class FakeConnector:
    """The Bot Connector's v3 conversations API on 127.0.0.1 and a random port.

    Records every request in `calls` (paths decoded, as the conversation ids read); answers
    with new ids; `fail_next` injects errors; requests without `Bearer ACCESS_TOKEN` get 401.
    """

    def __init__(self, token: str = ACCESS_TOKEN) -> None:
        self.token = token
        self.calls: list[ConnectorCall] = []
        self._failures: dict[str, _Failure] = {}
        self._serial = itertools.count(1)
        self.members: dict[str, Json] = {}  # Teams user id (29:…) → TeamsChannelAccount
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create_conversation)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/v3/conversations/{conversation}/members/{member}", self._member)
        self._server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> FakeConnector:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._server.close()

    @property
    def service_url(self) -> str:
        """The serviceUrl to put in activities and references, with its trailing slash."""
        return str(self._server.make_url("/"))

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        """Answer the next `times` requests to `path` (or below it) with `status`.

        The body is the connector's `{"error": {"code": ...}}`, the code defaulting to what
        Teams sends for that status; `retry_after` adds a `Retry-After` header in seconds.
        """
        self._failures[path] = _Failure(status, times, retry_after, code or _ERROR_CODES[status])

    def calls_to(self, path: str) -> list[ConnectorCall]:
        """The requests to `path` or below it, failed ones included, oldest first."""
        return [call for call in self.calls if _under(call.path, path)]

    async def _create_conversation(self, request: web.Request) -> web.Response:
        """POST /v3/conversations: open a 1:1."""
        return await self._answer(request, self._created)

    async def _send(self, request: web.Request) -> web.Response:
        """POST .../activities[/{replyToId}]: a new message, with a new id."""
        return await self._answer(request, lambda body: (201, {"id": self._activity_id()}))

    async def _update(self, request: web.Request) -> web.Response:
        """PUT .../activities/{id}: the message replaced in place."""
        activity = request.match_info["activity"]
        return await self._answer(request, lambda body: (200, {"id": activity}))

    async def _member(self, request: web.Request) -> web.Response:
        """GET .../members/{id}: one member of the conversation, or 404 MemberNotFound."""
        member = self.members.get(request.match_info["member"])
        if member is None:
            return await self._answer(request, lambda body: (404, {"error": {"code": "NotFound"}}))
        return await self._answer(request, lambda body: (200, member))

    async def _answer(self, request: web.Request, result: Any) -> web.Response:
        """Record the call, then answer 401, an injected failure, or `result(body)`."""
        body = await request.json() if request.can_read_body else {}
        failure = self._take_failure(request.path)
        self.calls.append(
            ConnectorCall(
                request.method,
                request.path,
                body,
                dict(request.headers),
                failure is not None,
                time.monotonic(),
            )
        )
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "Unauthorized")
        if failure is not None:
            headers = (
                {} if failure.retry_after is None else {"Retry-After": f"{failure.retry_after:g}"}
            )
            return _error(failure.status, failure.code, headers)
        status, answer = result(body)
        return web.json_response(answer, status=status)

    def _created(self, body: Json) -> tuple[int, Json]:
        """A 1:1's id, the same for the same person, as Teams reuses an existing 1:1."""
        members = body.get("members") or []
        fields = {name.lower(): value for name, value in body.items()}  # .NET binds any case
        tenant = (body.get("channelData") or {}).get("tenant", {}).get("id")
        if body.get("isGroup") or len(members) != 1 or not (tenant or fields.get("tenantid")):
            return 400, {"error": {"code": "BadArgument", "message": "one member and a tenant"}}
        return 201, {"id": f"a:1{uuid.uuid5(uuid.NAMESPACE_OID, members[0]['id']).hex}"}

    def _take_failure(self, path: str) -> _Failure | None:
        """The injected failure for `path`, counted down; None when there is none."""
        for prefix, failure in self._failures.items():
            if _under(path, prefix):
                failure.times -= 1
                if failure.times <= 0:
                    del self._failures[prefix]
                return failure
        return None

    def _activity_id(self) -> str:
        """A new message id, shaped like Teams' epoch-millisecond ids."""
        return f"17000000000{next(self._serial):02d}"


def _under(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or below it, segment-wise."""
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> web.Response:
    """The connector's error body for `status`."""
    body = {"error": {"code": code, "message": f"fake connector answered {status}"}}
    return web.json_response(body, status=status, headers=headers)
