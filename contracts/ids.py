"""Task ids derived from idempotency keys: the same request (a Slack event delivered three times, a double click,
a retried CLI call) always maps to the same workflow id, so Temporal refuses to start it twice."""

from __future__ import annotations

import hashlib

from contracts.common import AgentName


def task_id_for(agent: AgentName, idempotency_key: str) -> str:
    """A short, typeable task id: the agent's name and 12 hex digits of the key's SHA-256."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:12]
    return f"{agent}-{digest}"


def slack_idempotency_key(team_id: str, channel_id: str, message_ts: str) -> str:
    """The Slack identity of a request: one message (or one slash-command trigger) in one channel of one team."""
    return f"slack:{team_id}:{channel_id}:{message_ts}"


CONVERSATION_ID_PREFIX = "conversation"


def conversation_id(team_id: str, channel_id: str, thread_ts: str) -> str:
    """The ConversationWorkflow id of one Slack thread: every mention, DM and reply in it reaches the same workflow,
    from any bot replica, so the thread has one memory and one order of answers."""
    return f"{CONVERSATION_ID_PREFIX}-{team_id}-{channel_id}-{thread_ts}"
