"""A fake Slack Web API on 127.0.0.1: the tests' Slack and the offline sandbox's Slack.

The real `slack_sdk` clients talk to it unchanged (`AsyncWebClient(token, base_url=fake.base_url)`): it checks the bot
token, answers in Slack's documented shapes, keeps the workspace's state, records every call, serves the file upload
URLs and `response_url`s it hands out, and can answer 429 + Retry-After (or any error) on demand. Tests wait on it with
`wait_for(predicate)`; live views follow it with `subscribe()`.

    async with FakeSlackApi() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        await client.chat_postMessage(channel="C01GENERAL", text="hi")
        await slack.wait_for(lambda: slack.calls_to("chat.postMessage"))
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from aiohttp import web

from sandbox.api_methods import APP_TOKEN_METHODS, SlackError, WebApiMethods
from sandbox.changes import ChangeStream
from sandbox.recording import Faults, RecordedCall
from sandbox.response_urls import ResponseUrls
from sandbox.workspace import (
    DEFAULT_USERGROUPS,
    DEFAULT_USERS,
    Ephemeral,
    Message,
    SlackUser,
    SlackUserGroup,
    StateChange,
    View,
    Workspace,
)

__all__ = ["DEFAULT_APP_TOKEN", "DEFAULT_BOT_TOKEN", "DEFAULT_CHANNELS", "FakeSlackApi", "RecordedCall"]

DEFAULT_BOT_TOKEN = "xoxb-000000000000-000000000000-sandboxsandboxsandbox"
DEFAULT_APP_TOKEN = "xapp-1-A0BATON-000000000000-sandboxsandboxsandbox"
DEFAULT_CHANNELS: dict[str, str] = {"C01GENERAL": "general", "C02OPS": "ops"}
RESPONSE_URL_METHOD = "response_url"
T = TypeVar("T")


class FakeSlackApi:
    """Slack's Web API for one workspace, served over real HTTP on loopback."""

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Iterable[SlackUser] = DEFAULT_USERS,
        usergroups: Iterable[SlackUserGroup] = DEFAULT_USERGROUPS,
        channels: dict[str, str] | None = None,
        team_id: str = "T0SANDBOX",
        team_domain: str = "baton-sandbox",
        bot_user: SlackUser | None = None,
        bot_id: str = "B0BATON",
        app_id: str = "A0BATON",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.host = host
        self._port = port
        self.workspace = Workspace(
            team_id=team_id, team_domain=team_domain,
            bot_user=bot_user or SlackUser("U0BATONBOT", "baton", "Baton", is_bot=True),
            bot_id=bot_id, app_id=app_id, users=tuple(users), usergroups=tuple(usergroups),
            channels=dict(DEFAULT_CHANNELS if channels is None else channels), on_change=self._on_change,
        )
        self.methods = WebApiMethods(self.workspace, lambda path: f"{self.root_url}{path}")
        self.calls: list[RecordedCall] = []
        self.changes: list[StateChange] = []
        self._faults = Faults()
        self._listeners: list[Callable[[StateChange], None]] = []
        self._streams: set[ChangeStream] = set()
        self._response_urls = ResponseUrls(self.workspace)
        self._changed: asyncio.Event | None = None
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/api/{method}", self._handle_api)
        self.app.router.add_post("/upload/{file_id}", self._handle_upload)
        self.app.router.add_get("/files/{file_id}/{name}", self._handle_download)
        self.app.router.add_post("/response/{key}", self._handle_response_url)
        self._runner: web.AppRunner | None = None

    # lifecycle ---------------------------------------------------------------------------------------------------
    async def start(self) -> FakeSlackApi:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        for stream in list(self._streams):
            stream.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlackApi:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self._port}/"

    @property
    def base_url(self) -> str:
        """What AsyncWebClient(base_url=...) takes: slack_sdk urljoins it with the method name."""
        return f"{self.root_url}api/"

    # workspace shortcuts -----------------------------------------------------------------------------------------
    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user.id

    @property
    def users(self) -> dict[str, SlackUser]:
        return self.workspace.users

    # inspection --------------------------------------------------------------------------------------------------
    def calls_to(self, method: str, *, ok: bool | None = None) -> list[RecordedCall]:
        """Calls of one method in arrival order; ok=True keeps the ones Slack accepted."""
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def messages_in(self, channel: str, thread_ts: str | None = None) -> list[Message]:
        """Every message of the channel (replies included), or only the replies of thread `thread_ts`."""
        found = self.workspace.messages.get(channel, [])
        if thread_ts is None:
            return list(found)
        return [m for m in found if m.thread_ts == thread_ts and m.ts != thread_ts]

    def message(self, channel: str, ts: str) -> Message:
        m = self.workspace.find(channel, ts)
        if m is None:
            raise KeyError(f"no message {ts} in {channel}")
        return m

    def ephemerals(self, *, user: str | None = None, channel: str | None = None) -> list[Ephemeral]:
        return [e for e in self.workspace.ephemerals
                if (user is None or e.user == user) and (channel is None or e.channel == channel)]

    def views(self, *, user: str | None = None, open_only: bool = False) -> list[View]:
        return [v for v in self.workspace.views.values() if v.type == "modal"
                and (user is None or v.user == user) and (not open_only or v.is_open)]

    def view(self, view_id: str) -> View:
        return self.workspace.views[view_id]

    def home_view(self, user: str) -> View | None:
        return self.workspace.home_views.get(user)

    # driving the workspace (what people do; no API call is recorded) ---------------------------------------------
    def post_user_message(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> Message:
        """A person writes in a channel or thread; delivering the matching event is SlackDelivery's job."""
        ws = self.workspace
        return ws.post(Message(channel=channel, ts=ws.clock.next(), text=text, user=user, thread_ts=thread_ts))

    def set_members(self, channel: str, users: Iterable[str]) -> None:
        """Who is in `channel` from now on (conversations.members); a channel never given members has everyone."""
        self.workspace.ensure_channel(channel)
        self.workspace.members[channel] = list(dict.fromkeys(users))

    def remove_member(self, channel: str, user: str) -> None:
        """`user` leaves `channel`; delivering `member_left_channel` is SlackDelivery's job."""
        self.set_members(channel, [u for u in self.workspace.members_of(channel) if u != user])

    def issue_trigger(self, user_id: str) -> str:
        return self.workspace.issue_trigger(user_id)

    def close_view(self, view_id: str) -> None:
        self.workspace.close_view(view_id)

    def response_url(self, channel: str, user: str, *, message_ts: str | None = None,
                     thread_ts: str | None = None) -> str:
        """A response_url served by this fake; posts to it become messages (or edits of `message_ts`)."""
        return f"{self.root_url}response/{self._response_urls.mint(channel, user, message_ts, thread_ts)}"

    # fault injection ---------------------------------------------------------------------------------------------
    def fail_next(self, method: str, error: str = "ratelimited", status: int | None = None,
                  retry_after: int | None = 1, times: int = 2) -> None:
        """The next `times` calls of `method` fail: 429 + Retry-After for ratelimited, else 200 {ok: false}."""
        self._faults.add(method, error, status, retry_after, times)

    # waiting and following ---------------------------------------------------------------------------------------
    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10) -> T:
        """Return predicate()'s first truthy value, re-checked after every call and state change (no sleeps)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            event = self._event()
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(f"{c.method}({'ok' if c.ok else c.response.get('error')})" for c in self.calls[-8:])
                raise TimeoutError(f"condition not met within {timeout}s; last calls: {recent or 'none'}")
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                continue

    def subscribe(self) -> ChangeStream:
        """An async iterator of every StateChange from now on; `async with` (or close()) ends it."""
        stream = ChangeStream(self._streams.discard)
        self._streams.add(stream)
        return stream

    def add_listener(self, callback: Callable[[StateChange], None]) -> Callable[[], None]:
        """Call `callback` synchronously on every change; returns the function that removes it."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _on_change(self, change: StateChange) -> None:
        self.changes.append(change)
        for callback in list(self._listeners):
            callback(change)
        for stream in list(self._streams):
            stream.put(change)
        self._wake()

    def _record(self, method: str, args: dict[str, Any], status: int, response: dict[str, Any]) -> None:
        self.calls.append(RecordedCall(method, args, time.time(), status, response))
        self._wake()

    # HTTP --------------------------------------------------------------------------------------------------------
    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        """Slack accepts query strings, form bodies and JSON bodies; slack_sdk uses all three."""
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                args.update({k: v for k, v in form.items() if isinstance(v, str)})
        return args

    def _token(self, request: web.Request, args: dict[str, Any]) -> str | None:
        header = request.headers.get("Authorization", "")
        body_token = args.pop("token", None)
        if header.startswith("Bearer "):
            return header[len("Bearer "):]
        return str(body_token) if body_token else None

    def _answer(self, method: str, args: dict[str, Any], body: dict[str, Any], status: int = 200,
                headers: dict[str, str] | None = None) -> web.Response:
        self._record(method, args, status, body)
        return web.json_response(body, status=status, headers=headers)

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args = await self._read_args(request)
        except ValueError:
            return self._answer(method, {}, {"ok": False, "error": "invalid_json"})
        token = self._token(request, args)
        handler = self.methods.handlers.get(method)
        if handler is None:
            return self._answer(method, args, {"ok": False, "error": "unknown_method"})
        if not token:
            return self._answer(method, args, {"ok": False, "error": "not_authed"})
        expected = self.app_token if method in APP_TOKEN_METHODS else self.bot_token
        if token != expected:
            wrong_kind = token in (self.bot_token, self.app_token)
            return self._answer(method, args, {"ok": False, "error": "not_allowed_token_type" if wrong_kind
                                               else "invalid_auth"})
        fault = self._faults.take(method)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return self._answer(method, args, {"ok": False, "error": fault.error}, fault.status, headers)
        try:
            body = handler(args)
        except SlackError as exc:
            if exc.retry_after is not None:
                return self._answer(method, args, exc.body(), 429, {"Retry-After": str(exc.retry_after)})
            body = exc.body()
        except (TypeError, ValueError, AttributeError) as exc:
            body = {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [str(exc)]}}
        return self._answer(method, args, body)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        f = self.workspace.files.get(request.match_info["file_id"])
        if f is None:
            return web.Response(status=404, text="file_not_found")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next((v for v in form.values() if isinstance(v, web.FileField)), None)
            f.content = part.file.read() if part is not None else b""
        else:
            f.content = await request.read()
        self._record("upload", {"file_id": f.id, "size": len(f.content)}, 200, {"ok": True})
        return web.Response(text=f"OK - {len(f.content)}")

    async def _handle_download(self, request: web.Request) -> web.Response:
        f = self.workspace.files.get(request.match_info["file_id"])
        if f is None or f.content is None:
            return web.Response(status=404, text="file_not_found")
        return web.Response(body=f.content, content_type=self.methods.file_json(f)["mimetype"])

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        target = self._response_urls.get(request.match_info["key"])
        try:
            body = await request.json()
        except ValueError:
            body = None
        args = body if isinstance(body, dict) else {}
        if target is None:
            return self._answer(RESPONSE_URL_METHOD, args, {"ok": False, "error": "expired_url"}, 404)
        if not isinstance(body, dict):
            return self._answer(RESPONSE_URL_METHOD, args, {"ok": False, "error": "invalid_payload"}, 400)
        fault = self._faults.take(RESPONSE_URL_METHOD)
        if fault is not None:
            return self._answer(RESPONSE_URL_METHOD, args, {"ok": False, "error": fault.error}, fault.status or 400)
        try:
            self._response_urls.apply(target, body)
        except SlackError as exc:
            return self._answer(RESPONSE_URL_METHOD, args, exc.body(), 400 if exc.error != "message_not_found" else 404)
        return self._answer(RESPONSE_URL_METHOD, args, {"ok": True})
