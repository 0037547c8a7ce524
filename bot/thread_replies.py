"""A person's reply in a task's Slack thread, passed to the task: which messages are replies, which task a thread
belongs to, and the `reply` update that hands one over.

A thread is a task's when its root is the task's status message (Baton's own message, whose metadata names the task:
bot.notifier), so the bot keeps no map of threads: Slack holds it. The workflow judges the reply (contracts.
thread_reply: the requester, admins and approvers only) and says what it did; the Slack event id is the update id,
so a redelivery to any replica is applied once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from baton.errors import TaskAlreadyFinished, TaskBusy, TaskNotFound
from baton.translate import translate_rpc_error
from bot.blocks.text import Mrkdwn, mrkdwn
from bot.notifier import METADATA_EVENT
from bot.services import BotServices
from contracts import MAX_REQUEST_TEXT, names, read_task_request
from contracts.thread_reply import ThreadReplyOutcomeV1, ThreadReplyV1

__all__ = ["REPLY_REFUSALS", "Passed", "pass_on", "task_of_thread", "thread_reply"]

log = logging.getLogger(__name__)
REPLY_REFUSALS: frozenset[str] = frozenset({names.REPLY_NOT_ALLOWED, names.REPLY_AFTER_FINISH})
"""The `reply` update's rejection types: verdicts told to the person privately, not errors."""
STATUS_PART = "status"
"""The metadata `part` of a task's status message (bot.notifier)."""


@dataclass(frozen=True)
class Passed:
    """What became of a reply: `taken` (the task has it, as a message for the agent or as the answer to its
    checkpoint), `refused` (the person may not talk to the task), `finished` (the task ended)."""

    outcome: Literal["taken", "refused", "finished"]
    task_id: str

    def note(self) -> Mrkdwn | None:
        """What the person is told privately; None when a reaction on the reply says it all (`taken`)."""
        if self.outcome == "refused":
            return mrkdwn("Your reply was not passed to task `{}`: only its requester and approvers may talk to it "
                          "in this thread.", self.task_id)
        if self.outcome == "finished":
            return mrkdwn("Task `{}` has finished: your reply was not passed to it.", self.task_id)
        return None


def thread_reply(body: dict[str, Any], bot_user_id: str | None) -> tuple[str, str, ThreadReplyV1] | None:
    """(channel, thread ts, reply) when the event is a person's message in a thread that does not mention Baton
    (a mention is the thread's conversation's: listeners/events.py), else None."""
    event = body.get("event")
    event_id = body.get("event_id")
    if not isinstance(event, dict) or event.get("type") != "message" or not isinstance(event_id, str):
        return None
    if event.get("subtype") not in (None, "thread_broadcast") or event.get("bot_id") or event.get("bot_profile"):
        return None  # edits, deletions, joins, bots (Baton itself too); a reply also sent to the channel counts
    fields = [event.get(key) for key in ("user", "channel", "ts", "thread_ts")]
    if not all(isinstance(value, str) and value for value in fields):
        return None
    user, channel, ts, thread_ts = (str(value) for value in fields)
    text = str(event.get("text") or "").strip()[:MAX_REQUEST_TEXT]
    if ts == thread_ts or not text or user == bot_user_id or (bot_user_id and f"<@{bot_user_id}" in text):
        return None
    try:
        at = datetime.fromtimestamp(float(ts), UTC)  # the message's own time: a redelivery sends the same update
        reply = ThreadReplyV1(event_id=event_id, user_id=user, text=text, ts=ts, at=at)
    except (ValueError, OverflowError):
        log.warning("Ignored thread message %s: a field out of bounds", event_id[:100])
        return None
    return channel, thread_ts, reply


async def task_of_thread(client: AsyncWebClient, channel: str, thread_ts: str, bot_user_id: str | None) -> str | None:
    """The task whose status message is the thread's root, or None (any other thread, or Slack would not say)."""
    try:
        answer = await client.conversations_replies(channel=channel, ts=thread_ts, limit=1, include_all_metadata=True)
    except SlackApiError as exc:
        log.warning("Cannot read the root of a thread in %s: Slack answered %s", channel, exc.response.get("error"))
        return None
    messages = answer.get("messages") or []
    root = messages[0] if messages and isinstance(messages[0], dict) else {}
    metadata = root.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if (root.get("ts") != thread_ts or metadata.get("event_type") != METADATA_EVENT
            or payload.get("part") != STATUS_PART or not isinstance(payload.get("task_id"), str)):
        return None
    if bot_user_id and root.get("user") not in (None, bot_user_id):
        return None  # another app's message dressed as Baton's
    return str(payload["task_id"])


async def pass_on(services: BotServices, task_id: str, reply: ThreadReplyV1) -> Passed:
    """Hands `reply` to the task and waits for the workflow's verdict (within BATON_INTAKE_TIMEOUT_S). Raises
    TaskBusy when no worker took it in time and Temporal's own errors (TemporalUnavailable): the caller answers
    Slack 503, which delivers the event again, and the same update id makes that safe."""
    handle = services.gateway.client.get_workflow_handle(task_id)
    try:
        # The request memo, not the status query: it needs no worker, and a finished task says so at once.
        description = await handle.describe()
        if description.status != WorkflowExecutionStatus.RUNNING:
            return _finished(task_id)
        memo = await description.memo_value(names.REQUEST_MEMO, None)
        request = read_task_request(memo) if memo is not None else None  # V1 or V2
        groups = await services.directory.groups_of(reply.user_id, request.approval.approver_groups if request else [])
        reply = reply.model_copy(update={"user_groups": groups})
        outcome = await handle.execute_update(
            names.REPLY_UPDATE, reply, id=reply.event_id, result_type=ThreadReplyOutcomeV1,
            rpc_timeout=timedelta(seconds=services.settings.baton_intake_timeout_s))
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in REPLY_REFUSALS:
            return _finished(task_id) if cause.type == names.REPLY_AFTER_FINISH else Passed("refused", task_id)
        raise TaskBusy(task_id) from exc  # the server's refusal (a worker restarting): nothing was recorded
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        raise TaskBusy(task_id) from exc
    except RPCError as exc:
        error = translate_rpc_error(exc, task_id)
        if isinstance(error, TaskAlreadyFinished | TaskNotFound):
            return _finished(task_id)
        raise error from exc
    log.info("Reply %s to %s: %s", reply.event_id[:100], task_id, outcome.outcome)
    return Passed("taken", task_id)


def _finished(task_id: str) -> Passed:
    return Passed("finished", task_id)
