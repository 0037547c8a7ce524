"""Slack's requests as AWS API Gateway hands them to a Lambda function (HTTP API payload format 2.0, which Lambda
function URLs use too; the REST API's 1.0 is read as well), checked as bot.http_guard checks them on the aiohttp
server, then dispatched to bolt.

bolt's own AWS Lambda adapter (slack_bolt.adapter.aws_lambda) cannot be imported here: its package imports boto3 at
once, for the lazy-listener runner that re-invokes the function through the Lambda API, which Baton does not use
(every listener makes its work durable before its ack instead), and boto3 is no dependency of Baton's. What the
adapter's handler module does with an event is followed instead: the method is found where it looks for it in
either payload format, and a BoltResponse becomes the proxy result its `to_aws_response` builds (status, body, the
first value of each header). Its `to_bolt_request` is not followed: it builds the synchronous `BoltRequest`
(Baton's app is an `AsyncApp`), decodes the body as UTF-8 and parses it before anything checked the signature
(raising on a body that is not UTF-8, and on an event without `isBase64Encoded`), and writes a `cookie` header into
the event. Here the raw bytes come out first, the signature and the body's shape are checked on them exactly as the
HTTP guard does, and only then does bolt see an `AsyncBoltRequest`:

    404  anything but a POST (the template routes only POST /slack/events to the function)
    401  no signature headers, or ones that cannot be genuine
    400  a body that claims base64 and is not
    ...  then the HTTP guard's answers in its order: 413 over the kind's bound, 400 not UTF-8, 401 a stale timestamp
         or a wrong signature, 400 a body Slack would never send or bolt could not read; otherwise bolt's answer
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDict
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.signed_request import Refusal, check_signed_body, dispatch, signature_headers

__all__ = ["GatewayRequest", "dispatch_checked", "not_found", "read_event", "to_aws_response"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayRequest:
    """The parts of an API Gateway event a Slack request needs, the body as the bytes Slack signed."""

    method: str | None
    headers: CIMultiDict[str]
    """Case-insensitive: payload 2.0 lower-cases every header name, 1.0 keeps the client's spelling."""
    body: bytes | None
    """None when the event's body could not be read as bytes (it claims base64 and is not, or is not text)."""
    query: str
    source_ip: str


def read_event(event: Mapping[str, Any]) -> GatewayRequest:
    """The request an API Gateway event carries. Never raises: what is wrong with it is for `dispatch_checked` to
    answer, in the guard's order (a missing signature first)."""
    context = event.get("requestContext") or {}
    method = (context.get("http") or {}).get("method") or context.get("httpMethod") or event.get("httpMethod")
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in (event.get("headers") or {}).items():
        if isinstance(name, str) and isinstance(value, str):
            headers.add(name, value)
    query = event.get("rawQueryString")
    source_ip = (context.get("http") or {}).get("sourceIp") or (context.get("identity") or {}).get("sourceIp")
    return GatewayRequest(method=method if isinstance(method, str) else None, headers=headers,
                          body=_raw_body(event.get("body"), bool(event.get("isBase64Encoded"))),
                          query=query if isinstance(query, str) else "", source_ip=str(source_ip or "?"))


def to_aws_response(response: BoltResponse) -> dict[str, Any]:
    """The proxy integration's result for `response`, as bolt's adapter builds it."""
    return {"statusCode": response.status, "body": response.body, "headers": response.first_headers()}


def not_found() -> dict[str, Any]:
    return {"statusCode": 404, "body": "Not Found", "headers": {}}


def _raw_body(body: object, base64_encoded: bool) -> bytes | None:
    if body is None:
        return b""
    if not isinstance(body, str):
        return None
    if base64_encoded:  # API Gateway's way with a form post (a slash command, a click)
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not text Slack could have signed
        return None


async def dispatch_checked(app: AsyncApp, verifier: SignatureVerifier, request: GatewayRequest) -> BoltResponse:
    """bolt's answer to `request`, or the refusal the HTTP guard would give (bot.signed_request, shared)."""
    checked = signature_headers(request.headers)
    if isinstance(checked, Refusal):
        return _refuse(request, checked)
    timestamp, signature = checked
    if request.body is None:
        return _refuse(request, Refusal(400, "a body that claims base64 and is not, or is not text"))
    signed = check_signed_body(verifier, request.body, timestamp, signature, request.headers, request.query)
    if isinstance(signed, Refusal):
        return _refuse(request, signed)
    return await dispatch(app, signed)


def _refuse(request: GatewayRequest, refusal: Refusal) -> BoltResponse:
    log.warning("Refused a Slack request from %s with %s: %s", request.source_ip, refusal.status, refusal.reason)
    return BoltResponse(status=refusal.status, body="invalid request" if refusal.status == 401 else "malformed request")
