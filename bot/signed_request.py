"""Slack's request checked on its raw bytes before bolt sees it, whatever carried it (bot.http_guard's aiohttp
server, bot.api_gateway's Lambda function): both front doors refuse exactly the same requests, in the same order.

    401  no signature, a timestamp that is not a number or is over 5 minutes off, a signature that does not match
    413  a body over its kind's bound (bot.wellformed)
    400  a body that is not UTF-8, one Slack would never send, or one whose fields bolt cannot read

bolt's own adapters parse a body before its signature check, so unsigned junk raised inside bolt; here nothing is
parsed before the signature matched.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.request_trace import slack_request
from bot.wellformed import MalformedBody, decode, read_body, size_bound

__all__ = ["CheckedRequest", "Refusal", "check_bolt_can_read", "check_signed_body", "dispatch", "signature_headers"]

log = logging.getLogger(__name__)
_MAX_TIMESTAMP_DIGITS = 12
_MAX_SIGNATURE_CHARS = 100


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and with which HTTP status; the reason is logged, never the body."""

    status: int
    reason: str


@dataclass(frozen=True)
class CheckedRequest:
    """A request that passed every check: bolt's request, and the body as parsed once here."""

    bolt_request: AsyncBoltRequest
    body: dict[str, Any]


def signature_headers(headers: Mapping[str, str]) -> tuple[str, str] | Refusal:
    """(timestamp, signature) when both are there and could be genuine; else a 401.

    slack_sdk's verifier calls int() on the timestamp and compares the signature with hmac.compare_digest, which
    raise on `abc`, on a 5,000-digit number and on non-ASCII text: those never reach it.
    """
    timestamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if timestamp is None or signature is None:
        return Refusal(401, "no signature")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= _MAX_TIMESTAMP_DIGITS):
        return Refusal(401, "a timestamp that is not a number")
    if not (signature.isascii() and len(signature) <= _MAX_SIGNATURE_CHARS):
        return Refusal(401, "a malformed signature")
    return timestamp, signature


def check_signed_body(verifier: SignatureVerifier, raw: bytes, timestamp: str, signature: str,
                      headers: Mapping[str, str], query: str) -> CheckedRequest | Refusal:
    """The checks after the headers' (`signature_headers`), on the raw bytes: size, UTF-8, the signature, the
    body's shape, then whether bolt can read its fields."""
    content_type = headers.get("Content-Type")
    bound = size_bound(content_type)
    if len(raw) > bound:
        return Refusal(413, f"a body over {bound} bytes")
    try:
        text = decode(raw)  # Slack signs UTF-8 text; a body that is not cannot be Slack's, nor be verified
    except MalformedBody as exc:
        return Refusal(exc.status, exc.reason)
    if not verifier.is_valid(text, timestamp, signature):
        return Refusal(401, "a stale timestamp or a signature that does not match")
    try:
        body = read_body(text, content_type)
    except MalformedBody as exc:
        return Refusal(exc.status, exc.reason)
    try:
        # bolt takes only raw text over HTTP (a parsed dict is for Socket Mode) and parses it again: within the
        # kind's bound that costs at most ~25 ms (a 256 KiB form), and bolt's own signature check needs the text.
        bolt_request = AsyncBoltRequest(body=text, query=query, headers=dict(headers))
        if bolt_request.body != body:
            # bolt reads any form containing the word "payload" as an interaction and, finding no payload field,
            # an empty body: a slash command saying "payload" would reach no listener.
            bolt_request.body = body
            bolt_request.context = build_async_context(AsyncBoltContext({}), body)
        check_bolt_can_read(body)
    except Exception as exc:
        return Refusal(400, f"fields bolt cannot read ({type(exc).__name__})")
    return CheckedRequest(bolt_request, body)


def check_bolt_can_read(body: dict[str, Any]) -> None:
    """Raises what bolt would raise on every middleware, listener and error handler for this body.

    bolt builds the arguments it injects (`action`, `view`, `event`, `message`...) for each of them by indexing into
    the body, so a click whose `actions` is empty, or an event that is a string, fails all of them alike, the error
    handler included. Such a body is refused before dispatch instead.
    """
    for extract in (to_options, to_shortcut, to_action, to_view, to_command, to_event, to_message, to_step):
        extract(body)


async def dispatch(app: AsyncApp, checked: CheckedRequest) -> BoltResponse:
    """bolt's answer, inside the request's `slack <kind>` span; never an exception (that would be a 500)."""
    context = checked.bolt_request.context
    try:
        with slack_request(checked.body, context.team_id, context.channel_id, context.user_id):
            return await app.async_dispatch(checked.bolt_request)
    except Exception as exc:  # dispatch catches its own errors; this is the last line
        log.warning("A Slack request failed in bolt (%s); acked, nothing done", type(exc).__name__)
        return BoltResponse(status=200, body="")
