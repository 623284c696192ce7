"""A local stand-in for Slack's Web API, for the real `slack_sdk` and `slack_bolt` to talk to.

    async with FakeSlackAPI() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls_to("chat.postMessage")[0].args["text"] == "hi"

It answers the way Slack does (HTTP 200 with `{"ok": false, "error": ...}` for API errors,
429 with `Retry-After` when rate limited), so our code and the SDKs run unchanged against it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

TEAM_ID = "T0001"
TEAM_NAME = "Test"
APP_ID = "A0001"
BOT_ID = "B0001"
BOT_USER_ID = "UBOT"
BOT_TOKEN = "xoxb-test"
BOT_SCOPES = "commands,chat:write,channels:history,files:write,im:write,usergroups:read,users:read"
RESPONSE_URL_METHOD = "response_url"  # how posts to `FakeSlackAPI.response_url` are recorded

_NO_AUTH = {"oauth.v2.access"}  # exchanges a code and client credentials, not a token
_TOKEN_PREFIXES = ("xoxb-", "xoxp-", "xapp-")
_FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}

Args = dict[str, Any]


@dataclass(frozen=True)
class Call:
    """One request as the fake received it; `failed` when it was answered with injected failure."""

    method: str
    args: Args
    headers: dict[str, str]
    failed: bool = False


@dataclass
class _Failure:
    status: int
    retry_after: int
    times: int


class SlackError(Exception):
    """Answered as `{"ok": false, "error": <error>}`, as Slack reports API errors."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class FakeSlackAPI:
    """Slack's Web API on 127.0.0.1 and a random port; see the module docstring for usage.

    Configure `usergroups` (id -> user ids) and `users` (id -> fields over a default profile);
    read `calls` and `uploads` (file id -> bytes); inject failures with `fail_next`; make a
    method answer late with `slow` (method -> seconds), as Slack does on a bad day.
    """

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.users: dict[str, Args] = {}
        self.slow: dict[str, float] = {}
        self._failures: dict[str, _Failure] = {}
        self._filenames: dict[str, str] = {}
        self._serial = itertools.count(1)
        self._methods: dict[str, Callable[[Args], Args]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.getPermalink": self._permalink,
            "views.publish": self._view,
            "views.open": self._view,
            "views.update": self._view,
            "conversations.open": self._open_conversation,
            "conversations.info": self._conversation_info,
            "users.info": self._user_info,
            "usergroups.users.list": self._usergroup_users,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "oauth.v2.access": self._oauth_access,
            "apps.connections.open": self._open_socket,
        }
        self.socket_acks: list[Args] = []  # what Socket Mode clients answered to envelopes
        self._sockets: list[web.WebSocketResponse] = []
        app = web.Application()
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_get("/link", self._socket)
        self._server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> FakeSlackAPI:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._server.close()

    @property
    def base_url(self) -> str:
        """The `base_url` for `AsyncWebClient`, with the trailing slash its urljoin needs."""
        return self._url("/api/")

    @property
    def response_url(self) -> str:
        """A `response_url` to put in payloads; posts to it are recorded as "response_url"."""
        return self._url("/response/1")

    async def send_envelope(self, envelope: Args, seconds: float = 5.0) -> None:
        """Push a Socket Mode envelope to the first connected client (waiting for one)."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not self._sockets:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("no Socket Mode client connected")
            await asyncio.sleep(0.02)
        await self._sockets[0].send_json(envelope)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Slack's Socket Mode link: says hello, then relays envelopes and records acks."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1})
        self._sockets.append(socket)
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(message.data))
        self._sockets.remove(socket)
        return socket

    def _open_socket(self, args: Args) -> Args:
        return {"url": self._url("/link").replace("http://", "ws://")}

    def calls_to(self, method: str) -> list[Call]:
        """The calls to one method, failed attempts included, oldest first."""
        return [call for call in self.calls if call.method == method]

    def fail_next(
        self, method: str, status: int = 429, retry_after: int = 1, times: int = 1
    ) -> None:
        """Answer the next `times` calls to `method` with HTTP `status` instead of the result.

        429 comes with `Retry-After` and Slack's `ratelimited` body; 5xx with a plain-text body.
        """
        self._failures[method] = _Failure(status, retry_after, times)

    def refuse_next(self, method: str, error: str, times: int = 1) -> None:
        """Answer the next `times` calls to `method` as Slack refuses a call it will never accept,
        `{"ok": false, "error": error}` (`channel_not_found`, `token_revoked`…); 0 stops."""
        answer = self._methods[method]
        answer = answer.answer if isinstance(answer, _Refusing) else answer
        self._methods[method] = answer
        if times:
            restore = partial(self._methods.__setitem__, method, answer)
            self._methods[method] = _Refusing(answer, error, times, restore)

    # ---------------------------------------------------------------- HTTP

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        await asyncio.sleep(self.slow.get(method, 0.0))
        failure = self._take_failure(method)
        self.calls.append(Call(method, args, dict(request.headers), failed=failure is not None))
        if failure:
            return _failure_response(failure)
        return web.json_response(self._answer(method, args, request.headers))

    def _answer(self, method: str, args: Args, headers: Mapping[str, str]) -> Args:
        handler = self._methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        try:
            if method not in _NO_AUTH:
                _check_token(headers, args)
            return {"ok": True, **handler(args)}
        except SlackError as error:
            return {"ok": False, "error": error.error}

    async def _upload(self, request: web.Request) -> web.Response:
        """Slack's file upload service: raw bytes in, "OK - <length>" as plain text out."""
        file_id = request.match_info["file_id"]
        if file_id not in self._filenames:
            return web.Response(status=404, text="Not Found")
        self.uploads[file_id] = await request.read()
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    async def _response(self, request: web.Request) -> web.Response:
        """A response_url: takes a JSON message, as Bolt's `respond()` sends it."""
        self.calls.append(Call(RESPONSE_URL_METHOD, await request.json(), dict(request.headers)))
        return web.Response(text="ok")

    def _take_failure(self, method: str) -> _Failure | None:
        failure = self._failures.get(method)
        if failure is None:
            return None
        failure.times -= 1
        if failure.times <= 0:
            del self._failures[method]
        return failure

    def _url(self, path: str) -> str:
        return str(self._server.make_url(path))

    def _next(self) -> int:
        return next(self._serial)

    def _next_ts(self) -> str:
        return f"1700000000.{self._next() * 100:06d}"

    # ---------------------------------------------------------------- methods

    def _auth_test(self, args: Args) -> Args:
        return {
            "url": "https://test.slack.com/",
            "team": TEAM_NAME,
            "user": "upside",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: Args) -> Args:
        channel = _required(args, "channel", "channel_not_found")
        if channel.startswith("U"):  # Slack posts to the app's DM with that user
            channel = "D" + channel
        ts = self._next_ts()
        return {"channel": channel, "ts": ts, "message": _bot_message(args, ts)}

    def _post_ephemeral(self, args: Args) -> Args:
        _required(args, "channel", "channel_not_found")
        _required(args, "user", "user_not_in_channel")
        return {"message_ts": self._next_ts()}

    def _update(self, args: Args) -> Args:
        channel = _required(args, "channel", "channel_not_found")
        ts = _required(args, "ts", "message_not_found")
        return {
            "channel": channel,
            "ts": ts,
            "text": args.get("text", ""),
            "message": _bot_message(args, ts),
        }

    def _delete(self, args: Args) -> Args:
        channel = _required(args, "channel", "channel_not_found")
        return {"channel": channel, "ts": _required(args, "ts", "message_not_found")}

    def _permalink(self, args: Args) -> Args:
        channel = _required(args, "channel", "channel_not_found")
        ts = _required(args, "message_ts", "message_not_found")
        link = f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    def _view(self, args: Args) -> Args:
        view = _json_arg(args, "view")
        view_id = args.get("view_id") or f"V{self._next():04d}"
        return {
            "view": {
                **view,
                "id": view_id,
                "team_id": TEAM_ID,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "state": {"values": {}},
                "hash": f"1700000000.{self._next():08d}",
                "root_view_id": view_id,
                "previous_view_id": None,
            }
        }

    def _open_conversation(self, args: Args) -> Args:
        if args.get("channel"):
            return {"channel": {"id": args["channel"]}}
        users = _required(args, "users", "users_list_not_supplied").split(",")
        return {"channel": {"id": "D" + users[0]}}

    def _conversation_info(self, args: Args) -> Args:
        channel = _required(args, "channel", "channel_not_found")
        return {
            "channel": {
                "id": channel,
                "name": channel.lower(),
                "is_channel": channel.startswith("C"),
                "is_private": channel.startswith("G"),
                "is_im": channel.startswith("D"),
                "is_archived": False,
                "is_member": True,
            }
        }

    def _user_info(self, args: Args) -> Args:
        user = _required(args, "user", "user_not_found")
        real_name = f"User {user}"
        default = {
            "id": user,
            "team_id": TEAM_ID,
            "name": user.lower(),
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": {"real_name": real_name, "display_name": user.lower()},
        }
        return {"user": {**default, **self.users.get(user, {})}}

    def _usergroup_users(self, args: Args) -> Args:
        group = args.get("usergroup", "")
        if group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _upload_url(self, args: Args) -> Args:
        filename = _required(args, "filename", "invalid_arguments")
        _required(args, "length", "invalid_arguments")
        file_id = f"F{self._next():04d}"
        self._filenames[file_id] = filename
        return {"upload_url": self._url(f"/upload/{file_id}"), "file_id": file_id}

    def _complete_upload(self, args: Args) -> Args:
        files = _json_arg(args, "files")
        if any(f.get("id") not in self.uploads for f in files):
            raise SlackError("file_not_found")
        return {"files": [self._file(f["id"], f.get("title")) for f in files]}

    def _file(self, file_id: str, title: str | None) -> Args:
        name = self._filenames[file_id]
        return {"id": file_id, "name": name, "title": title or name}

    def _oauth_access(self, args: Args) -> Args:
        """A bot-only install; client credentials arrive as HTTP Basic auth and are not checked."""
        _required(args, "code", "invalid_code")
        return {
            "access_token": BOT_TOKEN,
            "token_type": "bot",
            "scope": BOT_SCOPES,
            "bot_user_id": BOT_USER_ID,
            "app_id": APP_ID,
            "team": {"id": TEAM_ID, "name": TEAM_NAME},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U1"},
        }


async def _read_args(request: web.Request) -> Args:
    """Query parameters merged with the body, JSON or form-encoded, as slack_sdk sends either."""
    args: Args = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.content_type in _FORM_TYPES:
            args.update((await request.post()).items())
    return args


def _check_token(headers: Mapping[str, str], args: Args) -> None:
    """Slack takes the token as a Bearer header or, in a form, as the `token` argument."""
    scheme, _, token = headers.get("Authorization", "").partition(" ")
    token = token if scheme == "Bearer" else args.get("token", "")
    if not token:
        raise SlackError("not_authed")
    if not token.startswith(_TOKEN_PREFIXES):
        raise SlackError("invalid_auth")


def _required(args: Args, name: str, error: str) -> str:
    value = args.get(name)
    if not value:
        raise SlackError(error)
    return str(value)


def _json_arg(args: Args, name: str) -> Any:
    """An argument sent as JSON in a JSON body, or as a JSON string in a form."""
    value = args.get(name)
    if value is None:
        raise SlackError("invalid_arguments")
    return json.loads(value) if isinstance(value, str) else value


def _bot_message(args: Args, ts: str) -> Args:
    text = args.get("text", "")
    message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "text": text, "ts": ts}
    if "blocks" in args:
        message["blocks"] = _json_arg(args, "blocks")
    return message


def _failure_response(failure: _Failure) -> web.Response:
    if failure.status == 429:
        return web.json_response(
            {"ok": False, "error": "ratelimited"},
            status=429,
            headers={"Retry-After": str(failure.retry_after)},
        )
    return web.Response(status=failure.status, text=HTTPStatus(failure.status).phrase)


@dataclass
class _Refusing:
    """A method's answer replaced by a Slack error for a number of calls (`refuse_next`)."""

    answer: Callable[[Args], Args]
    error: str
    times: int
    restore: Callable[[], None]

    def __call__(self, args: Args) -> Args:
        self.times -= 1
        if self.times <= 0:
            self.restore()
        raise SlackError(self.error)
