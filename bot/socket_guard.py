"""Socket Mode with the HTTP path's well-formedness rules: Slack's envelopes carry no signature (the WebSocket is the
app token's), but a message that is not a bounded JSON object, or an envelope whose payload bolt cannot read, is
dropped or acked with one warning line instead of a traceback from slack_sdk's or bolt's message loop.

slack_sdk's client json-loads every message starting with `{` (a deep one raises RecursionError) and builds a request
from any envelope (a list payload raises ValueError); bolt's handler then builds its request, whose context
extractors raise on mistyped fields. Each of those surfaced as `logger.exception`.
"""

from __future__ import annotations

import asyncio
import logging
from time import time
from typing import Any

from slack_bolt.adapter.socket_mode.async_base_handler import AsyncBaseSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.metrics import observe_ack, request_kind
from bot.request_trace import slack_request
from bot.signed_request import check_bolt_can_read
from bot.wellformed import MalformedBody, check_shape, read_json_object

__all__ = ["GuardedSocketModeClient", "GuardedSocketModeHandler"]

log = logging.getLogger(__name__)
_PING_INTERVAL_S = 10  # bolt's AsyncSocketModeHandler default


class GuardedSocketModeClient(SocketModeClient):
    """slack_sdk's aiohttp client, reading each message with bot.wellformed before its listeners see it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._listening: set[asyncio.Future[None]] = set()
        super().__init__(*args, **kwargs)

    async def process_message(self) -> None:
        raw = await self.message_queue.get()
        if raw is None:
            return
        if not isinstance(raw, str):
            log.warning("Dropped a Socket Mode message that is not text")
            return
        try:
            message = read_json_object(raw, "Socket Mode message")
        except MalformedBody as exc:
            log.warning("Dropped a Socket Mode message: %s", exc.reason)
            return
        envelope_id = message.get("envelope_id")
        if "payload" in message and not isinstance(message["payload"], dict):
            log.warning("Acked a Socket Mode envelope whose payload is not an object; nothing done")
            if isinstance(envelope_id, str) and envelope_id:
                await self.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))
            return
        # As slack_sdk does, run the listeners beside the loop (one slow listener must not hold up the next ack),
        # keeping a reference so the task is not collected mid-run.
        task = asyncio.ensure_future(self.run_message_listeners(message, raw))
        self._listening.add(task)
        task.add_done_callback(self._listening.discard)


class GuardedSocketModeHandler(AsyncBaseSocketModeHandler):
    """bolt's AsyncSocketModeHandler on the guarded client; an envelope bolt cannot build a request from is acked."""

    app: AsyncApp

    def __init__(self, app: AsyncApp, app_token: str) -> None:
        self.app = app
        self.app_token = app_token
        self.client = GuardedSocketModeClient(app_token=app_token, logger=app.logger, web_client=app.client,
                                              ping_interval=_PING_INTERVAL_S)
        self.client.socket_mode_request_listeners.append(self.handle)

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time()
        try:
            check_shape(req.payload)  # the HTTP body's rules: an event that is an object, actions with an action_id
            bolt_request = AsyncBoltRequest(mode="socket_mode", body=req.payload, headers=build_headers(req))
            check_bolt_can_read(bolt_request.body)
        except Exception as exc:  # bolt indexes into the payload and raises on mistyped fields (see bot.signed_request)
            why = exc.reason if isinstance(exc, MalformedBody) else f"fields bolt cannot read ({type(exc).__name__})"
            log.warning("Acked a Socket Mode envelope Slack would never send: %s; nothing done", why)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        context = bolt_request.context
        try:
            with slack_request(bolt_request.body, context.team_id, context.channel_id, context.user_id):
                response = await self.app.async_dispatch(bolt_request)
        except Exception as exc:  # dispatch catches its own errors; this is the last line
            log.warning("A Socket Mode envelope failed in bolt (%s); acked, nothing done", type(exc).__name__)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        await send_async_response(client, req, response, start)
        observe_ack(request_kind(req.payload), time() - start)

