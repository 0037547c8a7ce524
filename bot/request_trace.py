"""The span and log context of one Slack request, opened by the guards (HTTP and Socket Mode) around bolt's dispatch.

Bolt runs a listener as a task created inside the dispatch, and Baton's background intake as tasks created inside
the listener: both inherit the span and the Slack scope, so the workflow the listener starts (temporalio's
TracingInterceptor carries the span into Temporal's headers) and every line logged on the way belong to this request.

The span is `slack <kind>` (`slack command`, `slack block_actions`, `slack event app_mention`, ...) with the team,
channel, user and command as attributes; never the text of a command, message or submission.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry.trace import Span, SpanKind

from baton import telemetry
from baton.logfmt import slack_scope

__all__ = ["request_kind", "slack_request"]

_ID_CHARS = 40  # Slack ids are ~11 characters; a longer value is not one, and must not bloat spans or lines


@contextmanager
def slack_request(body: Mapping[str, Any], team: str | None, channel: str | None,
                  user: str | None = None) -> Iterator[Span]:
    """Open the request's span and Slack log scope; `team`, `channel` and `user` as bolt's context read them."""
    team, channel, user = _id(team), _id(channel), _id(user)
    kind = request_kind(body)
    attributes: dict[str, str] = {"slack.kind": kind}
    for name, value in (("slack.team_id", team), ("slack.channel_id", channel), ("slack.user_id", user)):
        if value:
            attributes[name] = value
    command = body.get("command")
    if isinstance(command, str):
        attributes["slack.command"] = command[:_ID_CHARS]
    with slack_scope(team, channel), telemetry.tracer(__name__).start_as_current_span(
        f"slack {kind}", kind=SpanKind.SERVER, attributes=attributes
    ) as span:
        yield span


def request_kind(body: Mapping[str, Any]) -> str:
    """A low-cardinality name for what Slack sent: `command`, `event <type>`, or the payload's type."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        event_type = event.get("type") if isinstance(event, Mapping) else None
        return f"event {_id(event_type) or 'unknown'}"
    return _id(kind) or "unknown"


def _id(value: object) -> str | None:
    return value[:_ID_CHARS] if isinstance(value, str) and value else None
