"""Test-only fault injection; never set it in production.

`BATON_FAULT_KILL_AFTER_ACK=<kind>` makes the bot (HTTP mode) SIGKILL itself the moment the ack of its first request
of that kind (`slash_command`, `block_actions`, `view_submission`, `event_callback`) has been written to the socket:
the worst moment for a bot to die, since Slack will not send an acked request again. Tests use it to prove that what
an ack promises is already in Temporal (bot.intake). Unset, nothing is installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot.settings import SettingsError
from bot.wellformed import MalformedBody, decode, read_body

__all__ = ["KILL_AFTER_ACK", "KINDS", "install"]

log = logging.getLogger(__name__)
KILL_AFTER_ACK = "BATON_FAULT_KILL_AFTER_ACK"
KINDS = ("slash_command", "block_actions", "view_submission", "event_callback")
_FLUSH_POLLS = 1000


def install(web_app: web.Application, environ: Mapping[str, str] = os.environ) -> None:
    """Arm the fault on the bot's web app when the variable names a kind; SettingsError for any other value."""
    kind = environ.get(KILL_AFTER_ACK, "").strip()
    if not kind:
        return
    if kind not in KINDS:
        raise SettingsError(f"Invalid bot settings: {KILL_AFTER_ACK} (one of {', '.join(KINDS)})")
    log.warning("%s=%s: this bot SIGKILLs itself after its first %s ack (a test-only fault)", KILL_AFTER_ACK, kind,
                kind)
    web_app.middlewares.append(_kill_after_ack(kind))


def _kill_after_ack(kind: str) -> Middleware:
    armed = True

    @web.middleware
    async def kill_after_ack(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal armed
        response = await handler(request)
        if not armed or response.status != 200 or await _kind_of(request) != kind:
            return response
        armed = False
        # Written here rather than by aiohttp after this returns, so the kill comes after the bytes left the process.
        await response.prepare(request)
        await response.write_eof()
        await _flushed(request)
        log.warning("%s: the %s ack is written; SIGKILL now", KILL_AFTER_ACK, kind)
        os.kill(os.getpid(), signal.SIGKILL)
        return response  # not reached

    return kill_after_ack


async def _kind_of(request: web.Request) -> str | None:
    """The request's kind, as Slack names it; None for a body that is not Slack's (the guard refused it anyway)."""
    try:
        body = read_body(decode(await request.read()), request.headers.get("Content-Type"))
    except MalformedBody:
        return None
    if "command" in body:
        return "slash_command"
    kind = body.get("type")
    return kind if isinstance(kind, str) else None


async def _flushed(request: web.Request) -> None:
    """Until the transport has handed every byte to the kernel (it does at once for an ack, which is small)."""
    transport = request.transport
    for _ in range(_FLUSH_POLLS):
        if transport is None or transport.get_write_buffer_size() == 0:
            return
        await asyncio.sleep(0.001)
