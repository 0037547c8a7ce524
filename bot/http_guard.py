"""The bot's HTTP front door, in front of bolt: Slack's signature and timestamp checked on the raw request, then the
body's shape, and only then does bolt parse and dispatch it.

bolt's aiohttp adapter decodes and parses a body before its own signature check, so unsigned junk (`[]`, `{not json`,
deep nesting, invalid UTF-8) raised inside bolt or aiohttp and answered 500 with a traceback. Here each request gets
a deliberate answer, and a refusal logs one warning line that never quotes the body:

    401  no signature, a timestamp that is not a number or is over 5 minutes off, a signature that does not match
    413  a body over its kind's bound (bot.wellformed: an event 1 MiB, a click or submission 256 KiB, a slash
         command ~100 KB), refused by its Content-Length before it is read when it says so
    400  a body Slack would never send (bot.wellformed), or one whose fields bolt cannot read (mistyped ids, an
         empty `actions`, an event that is a string: bolt raises on those before any listener runs); a request
         aiohttp cannot parse (a 10 kB header) gets its 400 from aiohttp, logged in one line (bot.aiohttp_log)
    ...  otherwise bolt's answer: listeners, the workspace check and the error handler of bot.middleware
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import (
    to_action,
    to_command,
    to_event,
    to_message,
    to_options,
    to_shortcut,
    to_step,
    to_view,
)
from slack_sdk.signature import SignatureVerifier

from bot import aiohttp_log
from bot.metrics import SLACK_KIND, request_kind, time_acks
from bot.request_trace import slack_request
from bot.wellformed import MAX_BODY_BYTES, MalformedBody, decode, read_body, size_bound

__all__ = ["SlackRequestGuard", "check_bolt_can_read", "guarded_web_app"]

log = logging.getLogger(__name__)
_MAX_TIMESTAMP_DIGITS = 12
_MAX_SIGNATURE_CHARS = 100


class SlackRequestGuard:
    """One aiohttp handler for Slack's request URL; see the module docstring for what it answers."""

    def __init__(self, app: AsyncApp, signing_secret: str) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        checked = _signature_headers(request.headers)
        if isinstance(checked, str):
            return _refuse(request, 401, checked)
        timestamp, signature = checked
        content_type = request.headers.get("Content-Type")
        bound = size_bound(content_type)
        if (request.content_length or 0) > bound:  # said up front: refused unread (aiohttp discards the rest)
            return _refuse(request, 413, f"a body over {bound} bytes")
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(request, 413, f"a body over {MAX_BODY_BYTES} bytes")
        try:
            text = decode(raw)  # Slack signs UTF-8 text; a body that is not cannot be Slack's, nor be verified
        except MalformedBody as exc:
            return _refuse(request, exc.status, exc.reason)
        if not self._verifier.is_valid(text, timestamp, signature):
            return _refuse(request, 401, "a stale timestamp or a signature that does not match")
        try:
            body = read_body(text, content_type)
        except MalformedBody as exc:
            return _refuse(request, exc.status, exc.reason)
        try:
            # bolt takes only raw text over HTTP (a parsed dict is for Socket Mode) and parses it again: within the
            # kind's bound that costs at most ~25 ms (a 256 KiB form), and bolt's own signature check needs the text.
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
            if bolt_request.body != body:
                # bolt reads any form containing the word "payload" as an interaction and, finding no payload
                # field, an empty body: a slash command saying "payload" would reach no listener.
                bolt_request.body = body
                bolt_request.context = build_async_context(AsyncBoltContext({}), body)
            check_bolt_can_read(body)
        except Exception as exc:
            return _refuse(request, 400, f"fields bolt cannot read ({type(exc).__name__})")
        context = bolt_request.context
        request[SLACK_KIND] = request_kind(body)  # handed to bolt: its ack is timed (bot.metrics.time_acks)
        try:
            with slack_request(body, context.team_id, context.channel_id, context.user_id):
                response = await self._app.async_dispatch(bolt_request)
        except Exception as exc:  # dispatch catches its own errors; this is the last line, never a 500
            log.warning("A Slack request failed in bolt (%s); acked, nothing done", type(exc).__name__)
            return web.Response(status=200)
        return await to_aiohttp_response(response)


def check_bolt_can_read(body: dict[str, Any]) -> None:
    """Raises what bolt would raise on every middleware, listener and error handler for this body.

    bolt builds the arguments it injects (`action`, `view`, `event`, `message`...) for each of them by indexing into
    the body, so a click whose `actions` is empty, or an event that is a string, fails all of them alike, the error
    handler included. Such a body is refused before dispatch instead.
    """
    for extract in (to_options, to_shortcut, to_action, to_view, to_command, to_event, to_message, to_step):
        extract(body)


def guarded_web_app(app: AsyncApp, signing_secret: str, path: str) -> web.Application:
    """An aiohttp application serving Slack's requests on `path` through the guard (bolt's own web_app() has none)."""
    aiohttp_log.install()
    web_app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[time_acks])
    web_app.router.add_post(path, SlackRequestGuard(app, signing_secret).handle)
    return web_app


def _signature_headers(headers: Mapping[str, str]) -> tuple[str, str] | str:
    """(timestamp, signature) when both are there and could be genuine; else why not.

    slack_sdk's verifier calls int() on the timestamp and compares the signature with hmac.compare_digest, which
    raise on `abc`, on a 5,000-digit number and on non-ASCII text: those never reach it.
    """
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if timestamp is None or signature is None:
        return "no signature"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return "a timestamp that is not a number"
    if not (signature.isascii() and len(signature) <= _MAX_SIGNATURE_CHARS):
        return "a malformed signature"
    return timestamp, signature


def _refuse(request: web.Request, status: int, reason: str) -> web.Response:
    log.warning("Refused a Slack request from %s with %s: %s", request.remote, status, reason)
    return web.Response(status=status, text="invalid request" if status == 401 else "malformed request")
