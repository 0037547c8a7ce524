"""Temporal's codec-server protocol on the bot, so an operator can read encrypted histories (the Temporal UI's codec
endpoint setting, or `temporal workflow show --codec-endpoint <bot>/codec --codec-auth "Bearer <token>"`):

    POST /codec/decode, /codec/encode   body and answer: Payloads as protobuf JSON, {"payloads": [...]}
                                        400 for junk or a payload no key decrypts (one line, no traceback)
    OPTIONS on both                     CORS preflight, answered for the Temporal UI's origin only

Every POST needs `Authorization: Bearer <BATON_CODEC_AUTH_TOKEN>` (401 otherwise): whoever may call /decode reads
every request in the namespace. With no token configured the endpoints answer 403 to everyone, as decrypting for
anyone who asks would undo the encryption.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from baton.codec import PayloadKeyError

__all__ = ["CODEC_PATH", "add_codec_routes", "origin_of"]

log = logging.getLogger(__name__)
CODEC_PATH = "/codec"
MAX_BODY_BYTES = 16 << 20
"""A history page's payloads for the UI; Temporal itself refuses a payload over 2 MB."""
_ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


def origin_of(url: str | None) -> str | None:
    """The origin (scheme://host[:port]) a browser sends for pages under `url`, or None for no usable URL."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None


class CodecServer:
    def __init__(self, codec: PayloadCodec, token: str | None, ui_origin: str | None) -> None:
        self._codec = codec
        self._token = token.encode() if token else None
        self._origin = ui_origin

    async def preflight(self, request: web.Request) -> web.Response:
        """Browsers send this without credentials before the UI's POST: it must not ask for the token."""
        if not self._cors_allowed(request):
            return web.Response(status=403, text="origin not allowed")
        response = web.Response(status=204)
        response.headers.update({
            hdrs.ACCESS_CONTROL_ALLOW_METHODS: "POST, OPTIONS",
            hdrs.ACCESS_CONTROL_ALLOW_HEADERS: _ALLOWED_HEADERS,
            hdrs.ACCESS_CONTROL_MAX_AGE: "600",
        })
        return self._with_cors(request, response)

    async def decode(self, request: web.Request) -> web.Response:
        return await self._serve(request, self._codec.decode_wrapper)

    async def encode(self, request: web.Request) -> web.Response:
        return await self._serve(request, self._codec.encode_wrapper)

    async def _serve(self, request: web.Request, apply: Callable[[Payloads], Awaitable[None]]) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return self._with_cors(request, refused)
        body = await _read_body(request)
        if body is None:
            return self._with_cors(request, web.Response(status=413, text="body too large"))
        try:
            document = json.loads(body)
            if not isinstance(document, dict):  # protobuf's parser would take `[]` for an empty Payloads
                raise ValueError("not an object")
            payloads = json_format.ParseDict(document, Payloads())
        except (json_format.ParseError, ValueError, TypeError, RecursionError):
            return self._with_cors(request, web.Response(status=400, text="the body is not Payloads as JSON"))
        try:
            await apply(payloads)
        except PayloadKeyError as exc:
            log.warning("Codec request from %s refused: %s", request.remote, exc)
            return self._with_cors(request, web.Response(status=400, text=str(exc)))
        answer = json_format.MessageToJson(payloads, indent=None)
        return self._with_cors(request, web.Response(text=answer, content_type="application/json"))

    def _refusal(self, request: web.Request) -> web.Response | None:
        if self._token is None:
            return web.Response(status=403, text="the codec endpoints are off: set BATON_CODEC_AUTH_TOKEN")
        scheme, _, presented = request.headers.get(hdrs.AUTHORIZATION, "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), self._token):
            log.warning("Codec request from %s refused: no valid bearer token", request.remote)
            return web.Response(status=401, text="a valid bearer token is required",
                                headers={hdrs.WWW_AUTHENTICATE: "Bearer"})
        return None

    def _cors_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get(hdrs.ORIGIN)
        return self._origin is not None and origin is not None and origin.lower() == self._origin

    def _with_cors(self, request: web.Request, response: web.Response) -> web.Response:
        """The UI reads answers, errors included, only when they carry its origin; other origins get none."""
        response.headers[hdrs.VARY] = "Origin"
        if self._cors_allowed(request):
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = request.headers[hdrs.ORIGIN]
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
        return response


async def _read_body(request: web.Request) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES (the Slack app's smaller request limit does not apply here)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def add_codec_routes(app: web.Application, codec: PayloadCodec, token: str | None, ui_url: str | None) -> None:
    """Serve the codec endpoints on `app`, with CORS for the UI at `ui_url` (TEMPORAL_UI_URL)."""
    server = CodecServer(codec, token, origin_of(ui_url))
    for name, handler in (("decode", server.decode), ("encode", server.encode)):
        app.router.add_post(f"{CODEC_PATH}/{name}", handler)
        app.router.add_route("OPTIONS", f"{CODEC_PATH}/{name}", server.preflight)
    if token is None:
        log.warning("BATON_PAYLOAD_KEYS is set but BATON_CODEC_AUTH_TOKEN is not: %s/decode and /encode refuse "
                    "every request", CODEC_PATH)
