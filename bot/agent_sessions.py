"""A task's phase mirrored on its Slack thread's agent session (`agents.sessions.setStatus`), from the notify path.

Slack's session status is a lifecycle value, not a sentence: `processing` (Slack shows its loading indicator and
its own Stop control, whose click arrives as `agent_session_stopped`), `active` (the session is open and idle),
`closed`. So a task that waits for a person is `active` (the plan in the status message names who is waited for)
and a finished task is `closed`. The session is the task's thread: channel and thread root, which Baton has; no
separate session id exists.

Best effort: the thread's messages are what a person relies on, so a workspace without agent sessions (an
`unknown_method`, `not_allowed_token_type`, a missing scope...) costs one log line, never the notification.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.text import plain
from contracts import TaskStatusV1

__all__ = ["AgentSessions", "SessionStatus", "session_status"]

log = logging.getLogger(__name__)
SessionStatus = Literal["processing", "active", "closed"]


class _Memory(Protocol):
    def get(self, key: Any) -> Any: ...

    def put(self, key: Any, value: Any) -> None: ...


def session_status(status: TaskStatusV1) -> SessionStatus:
    """The session's lifecycle value for the task's phase."""
    if status.is_terminal:
        return "closed"
    if status.phase == "waiting_for_human":
        return "active"
    return "processing"


class AgentSessions:
    """Sets the session status when it changes (each process remembers what it last set; a repeat is harmless)."""

    def __init__(self, client: AsyncWebClient, memory: _Memory, *, enabled: bool) -> None:
        self._client = client
        self._memory = memory
        self.enabled = enabled

    async def mirror(self, status: TaskStatusV1, channel: str, thread_ts: str | None) -> None:
        if not self.enabled or not thread_ts:
            return
        wanted = session_status(status)
        key = ("session", channel, thread_ts)
        known = self._memory.get(key)
        if known == wanted:
            return
        # The title and who started it name the session when this call may create it: the first this process makes
        # for the thread, whatever the status (on a busy worker the first notify can already find the task waiting),
        # and any call that opens it as running (the method creates the session if needed).
        naming = known is None or wanted == "processing"
        starting = {"title": plain(f"{status.agent} task", 255), "initiator_user_id": status.requester.user_id}
        try:
            await self._client.agents_sessions_setStatus(
                channel_id=channel, thread_ts=thread_ts, status=wanted, **(starting if naming else {}),
            )
        except SlackApiError as exc:  # remembered as set: a workspace that refuses it is not asked on every notify
            log.info("No agent session status for %s: %s", status.task_id, exc.response.get("error"))
        self._memory.put(key, wanted)
