"""Slack's agent sessions as the fake knows them: `agents.sessions.setStatus`, and each thread's session status for
the tests and the sandbox page to read.

The checks follow Slack's method (docs.slack.dev/reference/methods/agents.sessions.setStatus, and slack_sdk's
`agents_sessions_setStatus`): `channel_id` and `status` required, `thread_ts` naming the thread; the status one of
the session lifecycle values; a channel the workspace does not have is `channel_not_found`, a thread_ts that names
no message there `invalid_thread_ts`. The first call for a thread creates its session (with `title` and
`initiator_user_id` when given).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.workspace import Workspace

__all__ = ["SESSION_STATUSES", "AgentSession", "AgentSessions"]

SESSION_STATUSES = ("active", "processing", "suspended", "closed")

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class AgentSession:
    """One thread's agent session as the person sees it."""

    channel: str
    thread_ts: str
    status: str = ""
    title: str | None = None
    initiator_user_id: str | None = None
    history: list[str] = field(default_factory=list)
    """Every status set, oldest first."""


class AgentSessions:
    """The method over one Workspace, and the sessions it created."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.sessions: dict[tuple[str, str], AgentSession] = {}
        self.handlers: dict[str, Handler] = {"agents.sessions.setStatus": self.set_status}

    def session(self, channel: str, thread_ts: str) -> AgentSession | None:
        return self.sessions.get((channel, thread_ts))

    def set_status(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts, status = args.get("channel_id"), args.get("thread_ts"), args.get("status")
        if not channel or not status:
            missing = "channel_id" if not channel else "status"
            return _error("invalid_arguments", f"[ERROR] missing required field: {missing}")
        if status not in SESSION_STATUSES:
            return _error("invalid_arguments",
                          f"[ERROR] must be one of {', '.join(SESSION_STATUSES)} [json-pointer:/status]")
        if str(channel) not in self.ws.channels and str(channel) not in self.ws.messages:
            return _error("channel_not_found")
        if not thread_ts or self.ws.find(str(channel), str(thread_ts)) is None:
            return _error("invalid_thread_ts")
        key = (str(channel), str(thread_ts))
        session = self.sessions.setdefault(key, AgentSession(
            key[0], key[1], title=_str(args.get("title")), initiator_user_id=_str(args.get("initiator_user_id"))))
        session.status = str(status)
        session.history.append(session.status)
        return {"ok": True}


def _str(value: Any) -> str | None:
    return str(value) if value else None


def _error(error: str, message: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": False, "error": error}
    if message:
        out["response_metadata"] = {"messages": [message]}
    return out
