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

The checks themselves are bot.signed_request's, which the Lambda front door (bot.api_gateway) shares.
"""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier

from bot import aiohttp_log
from bot.metrics import SLACK_KIND, request_kind, time_acks
from bot.signed_request import Refusal, check_signed_body, dispatch, signature_headers
from bot.wellformed import MAX_BODY_BYTES, size_bound

__all__ = ["SlackRequestGuard", "guarded_web_app"]

log = logging.getLogger(__name__)


class SlackRequestGuard:
    """One aiohttp handler for Slack's request URL; see the module docstring for what it answers."""

    def __init__(self, app: AsyncApp, signing_secret: str) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        checked = signature_headers(request.headers)
        if isinstance(checked, Refusal):
            return _refuse(request, checked)
        timestamp, signature = checked
        bound = size_bound(request.headers.get("Content-Type"))
        if (request.content_length or 0) > bound:  # said up front: refused unread (aiohttp discards the rest)
            return _refuse(request, Refusal(413, f"a body over {bound} bytes"))
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(request, Refusal(413, f"a body over {MAX_BODY_BYTES} bytes"))
        signed = check_signed_body(self._verifier, raw, timestamp, signature, request.headers, request.query_string)
        if isinstance(signed, Refusal):
            return _refuse(request, signed)
        request[SLACK_KIND] = request_kind(signed.body)  # handed to bolt: its ack is timed (bot.metrics.time_acks)
        return await to_aiohttp_response(await dispatch(self._app, signed))


def guarded_web_app(app: AsyncApp, signing_secret: str, path: str) -> web.Application:
    """An aiohttp application serving Slack's requests on `path` through the guard (bolt's own web_app() has none)."""
    aiohttp_log.install()
    web_app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[time_acks])
    web_app.router.add_post(path, SlackRequestGuard(app, signing_secret).handle)
    return web_app


def _refuse(request: web.Request, refusal: Refusal) -> web.Response:
    log.warning("Refused a Slack request from %s with %s: %s", request.remote, refusal.status, refusal.reason)
    return web.Response(status=refusal.status, text="invalid request" if refusal.status == 401 else "malformed request")
