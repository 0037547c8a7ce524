"""A fake Slack Socket Mode server on 127.0.0.1, attached to a FakeSlackApi, so the bot's Socket Mode path (slack_sdk's
aiohttp SocketModeClient under bolt's AsyncSocketModeHandler) runs unchanged against loopback.

What Slack does, done here: `apps.connections.open` on the fake (app-level token) mints a one-use `ws://` URL on this
server; a connection gets Slack's `hello`; `send_*` push envelopes and wait for the client's ack (`{"envelope_id",
"payload"?}`), recording its latency; `disconnect()` sends Slack's `disconnect` (refresh_requested) so the client has
to open a fresh URL. The payloads are built by SlackDelivery's own send_* (its bodies unwrapped, not re-invented),
so the HTTP and Socket Mode paths carry identical payloads; only the wire differs (no signatures in Socket Mode).

    async with FakeSlackApi() as slack, FakeSocketMode(slack) as socket:
        # run the bot with SLACK_APP_TOKEN=slack.app_token and SLACK_API_URL=slack.base_url
        ack = await socket.send_slash_command("run diagnostic hello", "U01ALICE", "C01GENERAL")
        assert ack.latency_s < 3
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import WSCloseCode, WSMsgType, web

from sandbox.delivery import DeliveryResult, SlackDelivery
from sandbox.fake_slack import FakeSlackApi

__all__ = ["FakeSocketMode", "SocketAck", "SocketAckTimeout", "SocketConnection"]

T = TypeVar("T")
LINK_PATH = "/link/"
DEBUG_HOST = "applink-sandbox-1"
# Slack expects a response payload only for these (bolt then answers with response_action / a message).
RESPONSE_PAYLOAD_TYPES = frozenset({"slash_commands", "view_submission", "block_suggestion"})


class SocketAckTimeout(TimeoutError):
    """The client did not ack an envelope in time (Slack would then redeliver it with retry_attempt + 1)."""


@dataclass(frozen=True)
class SocketAck:
    """The client's ack of one envelope: its response payload (None for a bare ack) and how long it took."""

    envelope_id: str
    type: str
    payload: dict[str, Any] | None
    latency_s: float
    connection_id: int

    def json(self) -> dict[str, Any] | None:
        return self.payload


@dataclass
class SocketConnection:
    """One WebSocket the client opened with a ticket from apps.connections.open."""

    id: int
    ticket: str
    ws: web.WebSocketResponse
    opened_at: float
    closed_at: float | None = None
    disconnect_reason: str | None = None
    """Set once the server told this connection to go away: nothing more is delivered on it."""

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and not self.ws.closed

    @property
    def is_live(self) -> bool:
        return self.is_open and self.disconnect_reason is None


_last_ack: contextvars.ContextVar[SocketAck] = contextvars.ContextVar("baton_socket_last_ack")


class FakeSocketMode:
    """Slack's Socket Mode side for one FakeSlackApi; `async with` starts it and attaches it to the fake."""

    def __init__(self, slack: FakeSlackApi, *, host: str = "127.0.0.1", port: int = 0,
                 ack_timeout: float = 10.0) -> None:
        self.slack = slack
        self.host = host
        self._port = port
        self.ack_timeout = ack_timeout
        self.connections: list[SocketConnection] = []
        self.envelopes: list[dict[str, Any]] = []
        self.acks: list[SocketAck] = []
        self.unexpected: list[str] = []
        """Client messages that acked no pending envelope (a duplicate or unknown envelope_id, or not JSON)."""
        self.tickets_issued = 0
        self._tickets: set[str] = set()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._changed: asyncio.Event | None = None
        self._delivery = _EnvelopeDelivery(self)
        self.app = web.Application()
        self.app.router.add_get(LINK_PATH, self._handle_link)
        self._runner: web.AppRunner | None = None

    # lifecycle ---------------------------------------------------------------------------------------------------
    async def start(self) -> FakeSocketMode:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self._port).start()
        self._port = self._runner.addresses[0][1]
        self.slack.methods.open_socket = self._mint_url
        return self

    async def stop(self) -> None:
        if self.slack.methods.open_socket == self._mint_url:
            self.slack.methods.open_socket = None
        for conn in self.connections:
            if conn.is_open:
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSocketMode:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    # inspection and waiting --------------------------------------------------------------------------------------
    @property
    def open_connections(self) -> list[SocketConnection]:
        return [c for c in self.connections if c.is_open]

    @property
    def live_connection(self) -> SocketConnection | None:
        """Where the next envelope goes: the newest connection not told to disconnect."""
        return next((c for c in reversed(self.connections) if c.is_live), None)

    @property
    def ack_latencies(self) -> list[float]:
        return [a.latency_s for a in self.acks]

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10) -> T:
        """Return predicate()'s first truthy value, re-checked after every connection change and ack (no sleeps)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self._changed is None:
                self._changed = asyncio.Event()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"Socket Mode condition not met within {timeout}s; connections: "
                                   f"{[(c.id, c.is_open, c.disconnect_reason) for c in self.connections]}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_connected(self, count: int = 1, timeout: float = 10) -> SocketConnection:
        """Wait until `count` connections have been opened in all and one is live; returns the live one."""
        return await self.wait_for(lambda: self.live_connection if len(self.connections) >= count else None, timeout)

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    # what Slack sends --------------------------------------------------------------------------------------------
    async def push(self, kind: str, payload: dict[str, Any], *, retry_attempt: int | None = None,
                   retry_reason: str | None = None, accepts_response_payload: bool | None = None,
                   timeout: float | None = None) -> SocketAck:
        """Send one envelope on the live connection and return the client's ack (SocketAckTimeout if none)."""
        loop = asyncio.get_running_loop()
        timeout = self.ack_timeout if timeout is None else timeout
        deadline = loop.time() + timeout
        conn = await self.wait_for(lambda: self.live_connection, timeout)
        if accepts_response_payload is None:
            accepts_response_payload = kind in RESPONSE_PAYLOAD_TYPES or payload.get("type") in RESPONSE_PAYLOAD_TYPES
        # Field order and presence as in the reference envelopes: only events_api carries the retry fields.
        envelope: dict[str, Any] = {"envelope_id": str(uuid.uuid4()), "payload": payload, "type": kind,
                                    "accepts_response_payload": accepts_response_payload}
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt or 0
            envelope["retry_reason"] = retry_reason or ""
        envelope_id = envelope["envelope_id"]
        acked: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._pending[envelope_id] = acked
        self.envelopes.append(envelope)
        started = time.perf_counter()
        try:
            await conn.ws.send_str(json.dumps(envelope))
            message = await asyncio.wait_for(acked, max(deadline - loop.time(), 0.001))
        except TimeoutError:
            raise SocketAckTimeout(f"no ack for {kind} envelope {envelope_id} within {timeout}s") from None
        finally:
            self._pending.pop(envelope_id, None)
        raw_payload = message.get("payload")
        ack = SocketAck(envelope_id, kind, raw_payload if isinstance(raw_payload, dict) else None,
                        time.perf_counter() - started, message["_connection_id"])
        self.acks.append(ack)
        _last_ack.set(ack)
        self._wake()
        return ack

    async def send_event(self, event: dict[str, Any], event_id: str | None = None, *,
                         retry_attempt: int | None = None, retry_reason: str | None = None,
                         team_id: str | None = None) -> SocketAck:
        """An events_api envelope; resend with the same event_id and retry_attempt=1.. to act out Slack's retries."""
        await self._delivery.send_event(event, event_id=event_id, retry_num=retry_attempt,
                                        retry_reason=retry_reason or ("timeout" if retry_attempt else None),
                                        team_id=team_id)
        return _last_ack.get()

    async def say(self, user_id: str, channel_id: str, text: str, thread_ts: str | None = None, *,
                  event_id: str | None = None) -> tuple[SocketAck, dict[str, Any]]:
        """A person writes (the message lands in the fake); its app_mention / message event goes over the socket."""
        _, event = await self._delivery.say(user_id, channel_id, text, thread_ts, event_id=event_id)
        return _last_ack.get(), event

    async def send_slash_command(self, text: str, user_id: str, channel_id: str, command: str = "/baton",
                                 **options: Any) -> SocketAck:
        """A slash_commands envelope; `options` as SlackDelivery.send_slash_command (trigger_id, response_url...)."""
        await self._delivery.send_slash_command(text, user_id, channel_id, command, **options)
        return _last_ack.get()

    async def send_block_actions(self, **options: Any) -> SocketAck:
        """An interactive block_actions envelope; arguments as SlackDelivery.send_block_actions."""
        await self._delivery.send_block_actions(**options)
        return _last_ack.get()

    async def send_view_submission(self, **options: Any) -> SocketAck:
        """An interactive view_submission envelope; the ack's response_action is applied to the fake like Slack."""
        await self._delivery.send_view_submission(**options)
        return _last_ack.get()

    async def disconnect(self, reason: str = "refresh_requested") -> SocketConnection:
        """Slack's `disconnect` message on the live connection: the client must open a fresh URL and reconnect."""
        conn = await self.wait_for(lambda: self.live_connection)
        conn.disconnect_reason = reason
        await conn.ws.send_str(json.dumps({"type": "disconnect", "reason": reason,
                                           "debug_info": {"host": DEBUG_HOST}}))
        self._wake()
        return conn

    async def close_connection(self, code: int = WSCloseCode.GOING_AWAY) -> SocketConnection:
        """Drop the live connection from the server's side (a WebSocket close frame)."""
        conn = await self.wait_for(lambda: self.live_connection)
        conn.disconnect_reason = f"closed by server ({code})"
        await conn.ws.close(code=code)
        return conn

    # the wire ----------------------------------------------------------------------------------------------------
    def _mint_url(self) -> str:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        self.tickets_issued += 1
        return f"ws://{self.host}:{self._port}{LINK_PATH}?ticket={ticket}&app_id={self.slack.workspace.app_id}"

    async def _handle_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # tickets are one-use, like Slack's
            return web.Response(status=401, text="invalid_ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = SocketConnection(len(self.connections) + 1, ticket, ws, time.time())
        self.connections.append(conn)
        await ws.send_str(json.dumps({
            "type": "hello", "num_connections": len(self.open_connections),
            "debug_info": {"host": DEBUG_HOST, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.slack.workspace.app_id},
        }))
        self._wake()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_text(conn, message.data)
        finally:
            conn.closed_at = time.time()
            self._wake()
        return ws

    def _on_text(self, conn: SocketConnection, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        pending = self._pending.get(message.get("envelope_id", "")) if isinstance(message, dict) else None
        if pending is None or pending.done():
            self.unexpected.append(data)
            self._wake()
            return
        pending.set_result({**message, "_connection_id": conn.id})


class _EnvelopeDelivery(SlackDelivery):
    """SlackDelivery with the socket as its wire: the bodies its send_* build are unwrapped into envelope payloads
    (JSON body: events_api; form with one `payload` field: interactive; other forms: slash_commands)."""

    def __init__(self, server: FakeSocketMode) -> None:
        super().__init__(slack=server.slack)
        self._server = server

    def __repr__(self) -> str:
        return f"_EnvelopeDelivery(port={self._server.port})"

    async def send_raw(self, body: bytes, content_type: str, headers: dict[str, str] | None = None, *,
                       forge_signature: bool = False, age_seconds: float = 0,
                       signature: str | None = None) -> DeliveryResult:
        headers = headers or {}
        if content_type == "application/json":
            kind, payload = "events_api", json.loads(body)
        else:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
            if set(fields) == {"payload"}:
                kind, payload = "interactive", json.loads(fields["payload"])
            else:
                kind, payload = "slash_commands", fields
        retry = headers.get("X-Slack-Retry-Num")
        ack = await self._server.push(kind, payload, retry_attempt=int(retry) if retry else None,
                                      retry_reason=headers.get("X-Slack-Retry-Reason"))
        return DeliveryResult(200, json.dumps(ack.payload) if ack.payload is not None else "")
