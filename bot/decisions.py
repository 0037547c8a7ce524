"""A click on a checkpoint card, from check to `decide` update: shared by the buttons and the modals.

The bot checks first (the same rule as the workflow's validator, `contracts.approval`) so a person who may not
decide gets an explanation and the workflow's history stays untouched; the workflow remains the authority.
It checks against the workflow's own status only: while no worker answers, the click is not sent and the person
is told to try again (`BUSY`), never that the checkpoint is no longer pending.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from baton.errors import AlreadyDecided, BatonError, DecisionRejected, TaskAlreadyFinished, TaskBusy, TaskNotFound
from baton.gateway import StatusWithoutWorker
from bot.blocks.checkpoint import DECISION_LABELS
from bot.blocks.text import escape_keeping_mentions, mrkdwn
from bot.metrics import DecisionOutcome, record_decision
from bot.services import BotServices
from bot.visibility import Reader, visible
from contracts import (
    NO_LONGER_PENDING,
    CheckpointV1,
    DecisionKind,
    DecisionOutcomeV1,
    DecisionV1,
    TaskStatusV1,
    already_decided,
    utc_now,
)
from contracts.approval import action_under_review, current_args, refusal_reason
from contracts.checkpoint import split_action_ref

__all__ = ["BUSY", "Answer", "Check", "check_decision", "decide", "no_longer_pending", "ready_answer",
           "send_decision"]

BUSY = "Baton is busy; your click was not recorded, try again in a minute."
"""The answer to a click while no worker answers for its task: nothing was sent, so nothing changed."""


@dataclass(frozen=True)
class Check:
    """Either `refusal` (tell the person, change nothing) or a pending checkpoint they may decide."""

    refusal: str | None
    status: TaskStatusV1 | None = None
    checkpoint: CheckpointV1 | None = None
    groups: tuple[str, ...] = ()
    outcome: DecisionOutcome = "refused"
    """What a refusal counts as (bot.metrics): refused, not_pending or busy."""
    action: int | None = None
    """Which of the pending checkpoint's actions the click decides (`checkpoint` is then that action's entry)."""


async def check_decision(services: BotServices, task_id: str, checkpoint_id: str | None, decision: DecisionKind,
                         user_id: str) -> Check:
    """`checkpoint_id` is a card's: a checkpoint's id, or one of its actions' (`contracts.checkpoint.action_ref`)."""
    checkpoint_id, action = split_action_ref(checkpoint_id) if checkpoint_id else (checkpoint_id, None)
    try:
        status = await services.gateway.live_status(task_id)
    except (TaskNotFound, TaskAlreadyFinished):
        return Check(f"Task `{task_id}` is gone; this is no longer pending.", outcome="not_pending")
    except TaskBusy:
        return Check(BUSY, outcome="busy")
    if not await visible(services, status, Reader(user_id)):
        # A policy that names no approvers lets the conversation decide: someone outside it (a forwarded card, a
        # crafted click) learns nothing, not even that the task exists.
        return Check(str(TaskNotFound(task_id)))
    checkpoint = status.pending_checkpoint
    if status.is_terminal or checkpoint is None or checkpoint.id != checkpoint_id:
        return Check(no_longer_pending(status, checkpoint_id), status, outcome="not_pending")
    under_review = action_under_review(checkpoint, action)
    if isinstance(under_review, str):
        done = checkpoint.actions[action].decision if action is not None and action < len(checkpoint.actions) else None
        if done is not None:  # this action was decided: say by whom, as for a whole checkpoint
            label = f"*{DECISION_LABELS[done.decision]}*"
            return Check(escape_keeping_mentions(already_decided(label, done.by), [done.by]), status,
                         outcome="not_pending")
        return Check(escape_keeping_mentions(f"You cannot decide this: {under_review}", [user_id]), status)
    groups = await services.directory.groups_of(user_id, status.approval.approver_groups)
    reason = refusal_reason(status.approval, status.requester.user_id, under_review, decision, user_id, groups)
    if reason is not None:
        return Check(escape_keeping_mentions(f"You cannot decide this: {reason}", [user_id]), status)
    return Check(None, status, under_review, tuple(groups), action=action)


Answer = Callable[[], Awaitable[str]]
"""What to tell the person about a decision that was sent (or not): read once the click has been acked."""


async def decide(services: BotServices, task_id: str, check: Check, decision: DecisionKind, user_id: str, *,
                 edited_args: dict[str, Any] | None = None, text: str | None = None) -> str:
    """Send the decision and wait for its outcome; returns what to tell the person (ephemeral), whatever it is."""
    answer = await send_decision(services, task_id, check, decision, user_id, edited_args=edited_args, text=text)
    return await answer()


async def send_decision(services: BotServices, task_id: str, check: Check, decision: DecisionKind, user_id: str, *,
                        edited_args: dict[str, Any] | None = None, text: str | None = None,
                        text_is_json: bool | None = None) -> Answer:
    """Send the decision and return once the workflow has accepted it (it is in the task's history: a bot that dies
    now loses nothing but the answer) or refused it. The returned Answer reads the outcome and never raises a Baton
    error: each becomes what to tell the person."""
    if check.checkpoint is None:
        record_decision(check.outcome if check.refusal else "not_pending")
        return ready_answer(check.refusal or NO_LONGER_PENDING)
    checkpoint = check.checkpoint
    try:
        sent = await services.gateway.start_decide(task_id, DecisionV1(
            checkpoint_id=split_action_ref(checkpoint.id)[0], decision=decision, edited_args=edited_args,
            text=text or None, text_is_json=text_is_json, by=user_id, by_groups=list(check.groups), at=utc_now(),
            action=check.action,
        ), approving=current_args(checkpoint))
    except BatonError as exc:
        record_decision(_failure_outcome(exc))
        failure = exc
        return lambda: _refused(services, task_id, checkpoint, user_id, failure)

    async def answer() -> str:
        try:
            outcome = await sent.outcome()
        except BatonError as exc:
            record_decision(_failure_outcome(exc))
            return await _refused(services, task_id, checkpoint, user_id, exc)
        record_decision(outcome.outcome)
        return _accepted(outcome, decision, checkpoint)

    return answer


def _failure_outcome(exc: BatonError) -> DecisionOutcome:
    if isinstance(exc, TaskAlreadyFinished | TaskNotFound):
        return "not_pending"
    if isinstance(exc, DecisionRejected):
        return "refused"
    return "busy" if isinstance(exc, TaskBusy) else "failed"


def ready_answer(text: str) -> Answer:
    """An Answer known before anything was sent (a refusal, a button that is not Baton's)."""

    async def answer() -> str:
        return text

    return answer


def _accepted(outcome: DecisionOutcomeV1, decision: DecisionKind, checkpoint: CheckpointV1) -> str:
    if outcome.outcome == "approval_recorded":
        count = f"{outcome.approvals} of {outcome.quorum} approvals"
        if decision != "edit":
            return f"Your approval is recorded: {count}."
        withdrawn = "; earlier approvals of the old arguments were withdrawn" if outcome.withdrawn else ""
        return f"Your edit is recorded as your approval: {count}{withdrawn}."
    return mrkdwn("Done: you chose to {} *{}*.", DECISION_LABELS[decision].lower(), checkpoint.title)


async def _refused(services: BotServices, task_id: str, checkpoint: CheckpointV1, user_id: str,
                   exc: BatonError) -> str:
    """What to tell a person whose decision Temporal or the workflow did not take; other errors than these three
    (Temporal unreachable, no worker taking the update) are told in their own words."""
    if isinstance(exc, TaskAlreadyFinished):
        # The task ended between the check and the update (a quick agent after the winning click): its final
        # status still says who decided.
        try:
            return no_longer_pending(await services.gateway.live_status(task_id), split_action_ref(checkpoint.id)[0])
        except BatonError:
            return "This task has finished; this is no longer pending."
    if isinstance(exc, TaskNotFound):
        return f"Task `{task_id}` is gone; this is no longer pending."
    if isinstance(exc, AlreadyDecided):  # the workflow named who decided: no second round trip needed
        label = DECISION_LABELS.get(exc.decision, exc.decision)
        return escape_keeping_mentions(already_decided(f"*{label}*", exc.by), [exc.by])
    if not isinstance(exc, DecisionRejected):
        return str(exc)
    try:
        status = await services.gateway.live_status(task_id)
    except BatonError:  # gone, finished, busy or unreachable: the workflow's own words are all there is
        return escape_keeping_mentions(f"Your decision was not applied: {exc}", [user_id])
    checkpoint_id = split_action_ref(checkpoint.id)[0]
    if status.pending_checkpoint is None or status.pending_checkpoint.id != checkpoint_id:
        return no_longer_pending(status, checkpoint_id)
    return escape_keeping_mentions(f"Your decision was not applied: {exc}", [user_id])


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
