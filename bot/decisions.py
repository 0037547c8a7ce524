"""A click on a checkpoint card, from check to `decide` update: shared by the buttons and the modals.

The bot checks first (the same rule as the workflow's validator, `contracts.approval`) so a person who may not
decide gets an explanation and the workflow's history stays untouched; the workflow remains the authority.
It checks against the workflow's own status only: while no worker answers, the click is not sent and the person
is told to try again (`BUSY`), never that the checkpoint is no longer pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baton.errors import DecisionRejected, TaskAlreadyFinished, TaskBusy, TaskNotFound
from baton.gateway import StatusWithoutWorker
from bot.blocks.checkpoint import DECISION_LABELS
from bot.blocks.text import escape_keeping_mentions, mrkdwn
from bot.services import BotServices
from bot.visibility import Reader, visible
from contracts import NO_LONGER_PENDING, CheckpointV1, DecisionKind, DecisionV1, TaskStatusV1, already_decided, utc_now
from contracts.approval import current_args, refusal_reason

__all__ = ["BUSY", "Check", "check_decision", "decide", "no_longer_pending"]

BUSY = "Baton is busy; your click was not recorded, try again in a minute."
"""The answer to a click while no worker answers for its task: nothing was sent, so nothing changed."""


@dataclass(frozen=True)
class Check:
    """Either `refusal` (tell the person, change nothing) or a pending checkpoint they may decide."""

    refusal: str | None
    status: TaskStatusV1 | None = None
    checkpoint: CheckpointV1 | None = None
    groups: tuple[str, ...] = ()


async def check_decision(services: BotServices, task_id: str, checkpoint_id: str | None, decision: DecisionKind,
                         user_id: str) -> Check:
    try:
        status = await services.gateway.live_status(task_id)
    except (TaskNotFound, TaskAlreadyFinished):
        return Check(f"Task `{task_id}` is gone; this is no longer pending.")
    except TaskBusy:
        return Check(BUSY)
    if not await visible(services, status, Reader(user_id)):
        # A policy that names no approvers lets the conversation decide: someone outside it (a forwarded card, a
        # crafted click) learns nothing, not even that the task exists.
        return Check(str(TaskNotFound(task_id)))
    checkpoint = status.pending_checkpoint
    if status.is_terminal or checkpoint is None or checkpoint.id != checkpoint_id:
        return Check(no_longer_pending(status, checkpoint_id), status)
    groups = await services.directory.groups_of(user_id, status.approval.approver_groups)
    reason = refusal_reason(status.approval, status.requester.user_id, checkpoint, decision, user_id, groups)
    if reason is not None:
        return Check(escape_keeping_mentions(f"You cannot decide this: {reason}", [user_id]), status)
    return Check(None, status, checkpoint, tuple(groups))


async def decide(services: BotServices, task_id: str, check: Check, decision: DecisionKind, user_id: str, *,
                 edited_args: dict[str, Any] | None = None, text: str | None = None) -> str:
    """Send the decision; returns what to tell the person (ephemeral), whatever the outcome."""
    if check.checkpoint is None:
        return check.refusal or NO_LONGER_PENDING
    label = DECISION_LABELS[decision].lower()
    try:
        outcome = await services.gateway.decide(task_id, DecisionV1(
            checkpoint_id=check.checkpoint.id, decision=decision, edited_args=edited_args, text=text or None,
            by=user_id, by_groups=list(check.groups), at=utc_now(),
        ), approving=current_args(check.checkpoint))
    except TaskAlreadyFinished:
        return "This task has finished; this is no longer pending."
    except TaskNotFound:
        return f"Task `{task_id}` is gone; this is no longer pending."
    except DecisionRejected as exc:
        try:
            status = await services.gateway.live_status(task_id)
        except (TaskNotFound, TaskAlreadyFinished, TaskBusy):
            return escape_keeping_mentions(f"Your decision was not applied: {exc}", [user_id])
        if status.pending_checkpoint is None or status.pending_checkpoint.id != check.checkpoint.id:
            return no_longer_pending(status, check.checkpoint.id)
        return escape_keeping_mentions(f"Your decision was not applied: {exc}", [user_id])
    if outcome.outcome == "approval_recorded":
        count = f"{outcome.approvals} of {outcome.quorum} approvals"
        if decision != "edit":
            return f"Your approval is recorded: {count}."
        withdrawn = "; earlier approvals of the old arguments were withdrawn" if outcome.withdrawn else ""
        return f"Your edit is recorded as your approval: {count}{withdrawn}."
    return mrkdwn("Done: you chose to {} *{}*.", label, check.checkpoint.title)


def no_longer_pending(status: TaskStatusV1, checkpoint_id: str | None) -> str:
    """Tell a late clicker what happened instead: who decided what, or that the task ended.

    Only the workflow's own status can say so: a stand-in built without a worker has no checkpoint at all."""
    if isinstance(status, StatusWithoutWorker):
        return BUSY
    record = next((d for d in reversed(status.decisions) if d.checkpoint_id == checkpoint_id), None)
    if record is not None:
        return escape_keeping_mentions(already_decided(f"*{DECISION_LABELS[record.decision]}*", record.by), [record.by])
    if status.is_terminal:
        return f"This is no longer pending: the task has {status.phase.replace('_', ' ')}."
    return NO_LONGER_PENDING
