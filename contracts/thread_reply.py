"""A person's reply in a task's Slack thread, on its way to the running agent, and who may send one.

The bot hands a reply to the task's `AgentWorkflow` with the `reply` update (`ThreadReplyV1`, the Slack event id as
the update id, so a redelivery is applied once). The workflow either keeps it for the agent, which reads it from its
`human_messages` state channel before its next step (`ThreadRepliesV1` is what the agent's run asks for), or, while
the task waits at a checkpoint that allows `respond`, takes it as that response. `may_reply` is the pure rule both
the workflow's validator and the bot follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contracts.checkpoint import CheckpointV1
from contracts.common import MAX_REQUEST_TEXT, Contract, ShortText, UserId
from contracts.task import ApprovalPolicyV1

__all__ = ["MAX_REPLIES_KEPT", "ThreadRepliesV1", "ThreadReplyOutcomeV1", "ThreadReplyV1", "may_reply",
           "reply_refused"]

MAX_REPLIES_KEPT = 100
"""Replies a run of the workflow keeps for its agent (the newest): each rides in every `thread_replies` answer."""

ReplyText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_REQUEST_TEXT)]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
SlackTs = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class ThreadReplyV1(Contract):
    """The input of the `reply` update: one message a person wrote in a task's thread, as the bot read it."""

    schema_version: Literal[1] = 1
    event_id: EventId
    """Slack's event id: the update id too, and the id of the message the agent sees, so it arrives once."""
    user_id: UserId
    user_groups: list[ShortText] = Field(default_factory=list, max_length=50)
    """The approver groups of the task the person belongs to, resolved by the bot (the workflow cannot ask Slack)."""
    text: ReplyText
    """As the person wrote it (cut to MAX_REQUEST_TEXT): the agent reads it raw; whatever shows it in Slack escapes."""
    ts: SlackTs
    at: datetime


class ThreadReplyOutcomeV1(Contract):
    """What the `reply` update did with a reply."""

    schema_version: Literal[1] = 1
    outcome: Literal["delivered", "responded", "duplicate"]
    """`delivered`: kept for the agent's next step; `responded`: it answered the pending checkpoint; `duplicate`:
    the workflow already had this event."""
    checkpoint_id: ShortText | None = None
    """The checkpoint it answered (`responded`)."""


class ThreadRepliesV1(Contract):
    """The `thread_replies` query: the replies this run of the workflow holds for its agent, oldest first. The
    agent's run adds the ones its state does not hold yet (by event id)."""

    schema_version: Literal[1] = 1
    replies: list[ThreadReplyV1] = Field(default_factory=list, max_length=MAX_REPLIES_KEPT)


def may_reply(
    policy: ApprovalPolicyV1,
    requester_id: str,
    user_id: str,
    user_groups: Sequence[str] = (),
    checkpoint: CheckpointV1 | None = None,
) -> bool:
    """Whether `user_id` may talk to the running task: its requester, its admins and its approvers (named by the
    policy or the pending `checkpoint`, or through a group). Stricter than who may click a card whose policy names
    no approver: a thread is open to the whole channel, and chatter there must not steer the agent."""
    if user_id == requester_id or user_id in policy.admins or user_id in policy.approvers:
        return True
    if checkpoint is not None and user_id in checkpoint.allowed_users:
        return True
    return bool(set(user_groups) & set(policy.approver_groups))


def reply_refused(user_id: str) -> str:
    """The one wording for a reply from someone who may not talk to the task (the workflow rejects with it)."""
    return (f"<@{user_id}> is not the requester or an approver of this task: the reply was not passed to it. "
            "Mention Baton to talk to it instead.")
