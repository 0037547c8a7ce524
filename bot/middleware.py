"""Global middleware and the global error handler.

The workspace check refuses other workspaces, and any request whose workspace cannot be established, when
BATON_SLACK_TEAM_ID is set; it runs before bolt's authorization, so a refused request costs no Slack API call. It
answers 200 so Slack stops retrying, and the request reaches no listener. (Events API redeliveries need no middleware:
Temporal deduplicates them by event id, see listeners/events.py.)

The error handler answers whatever still fails inside bolt (a matcher indexing into a mistyped payload, a request no
listener handles, a listener raising before its ack) with an ack and nothing done: one warning line naming the
request's kind and where it failed, never the payload, and never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse

from bot.services import BotServices

__all__ = ["COULD_NOT_READ_COMMAND", "install_middleware", "shown", "workspace_check"]

log = logging.getLogger(__name__)
FOREIGN_WORKSPACE = "This Baton app serves another Slack workspace; your request was not run."
UNKNOWN_WORKSPACE = "Baton could not tell which Slack workspace this came from; your request was not run."
COULD_NOT_READ_COMMAND = "I could not read that command, so nothing was done. Please try again."
_SHOWN_CHARS = 40

Middleware = Callable[..., Awaitable[BoltResponse | None]]


def shown(value: object, limit: int = _SHOWN_CHARS) -> str:
    """A value from a payload as it may appear in a log line: escaped (no line breaks, no control characters) and cut
    to `limit` characters, so a hostile id can neither forge log lines nor flood them."""
    text = value if isinstance(value, str) else type(value).__name__
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def workspace_check(services: BotServices) -> Middleware:
    """The before-authorize middleware for BATON_SLACK_TEAM_ID; when it is not set, every workspace is served."""
    allowed_team = services.settings.baton_slack_team_id

    async def only_our_workspace(body: dict[str, Any], context: AsyncBoltContext,
                                 next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        team = context.team_id
        if not allowed_team or team == allowed_team or body.get("type") == "url_verification":
            await next()  # url_verification (Slack checking the request URL) carries no workspace
            return None
        if team:
            log.warning("Refused a request from workspace %s", shown(team))
        else:
            log.warning("Refused a request whose workspace could not be established")
        if "command" not in body:  # only a slash command's ack body is shown to the person
            return BoltResponse(status=200, body="")
        return BoltResponse(status=200, body=FOREIGN_WORKSPACE if team else UNKNOWN_WORKSPACE)

    return only_our_workspace


def install_middleware(app: AsyncApp, services: BotServices) -> None:
    @app.error
    async def ack_failures(error: Exception, body: dict[str, Any],
                           response: BoltResponse | None) -> BoltResponse | None:
        kind = _kind(body)
        if isinstance(error, BoltUnhandledRequestError):
            log.warning("No listener for a %s; acked, nothing done", kind)
        else:
            log.warning("A %s failed at %s (%s); acked, nothing done", kind, _where(error), type(error).__name__)
        if response is None:
            return None  # the listener had acked before it raised: bolt takes no answer from here then
        return BoltResponse(status=200, body=COULD_NOT_READ_COMMAND if "command" in body else "")


def _kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "slash command"
    kind = body.get("type")
    if kind == "event_callback" and isinstance(body.get("event"), dict):
        return f"{shown(body['event'].get('type'))} event"
    return f"{shown(kind)} request"


def _where(error: BaseException) -> str:
    """file:line where `error` was raised: enough to find a bug without a traceback in the log."""
    trace = error.__traceback__
    if trace is None:
        return "?"
    while trace.tb_next is not None:
        trace = trace.tb_next
    return f"{Path(trace.tb_frame.f_code.co_filename).name}:{trace.tb_lineno}"
