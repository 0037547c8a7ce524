"""TaskLedger: the workflow's mutable record of a task, rendered on demand as the `status` query's TaskStatusV1.

Pure and deterministic (every timestamp is passed in by the workflow from `workflow.now()`), so it is importable in
Temporal's sandbox and testable without a server.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import (
    MAX_EVENTS_KEPT,
    ApprovalV1,
    CancellationV1,
    CheckpointV1,
    DecisionRecordV1,
    DecisionV1,
    Phase,
    ProgressEventV1,
    ProgressV1,
    ProposedActionV1,
    SlackMessagesV1,
    TaskRequestV1,
    TaskResultV1,
    TaskStatusV1,
    args_digest,
    changes_args,
    current_args,
)
from contracts.approval import APPROVING_DECISIONS
from contracts.checkpoint import ApprovingDecision
from contracts.common import MAX_LONG_TEXT

MAX_APPROVAL_LOG = 50


@dataclass(frozen=True)
class Tally:
    """What one approval did to a checkpoint's quorum."""

    approvals: int
    quorum: int
    withdrawn: list[str]
    """People whose approvals of the old arguments the approval (an edit) withdrew."""
    decision: DecisionV1 | None
    """What the agent resumes with once the quorum is reached, None before: the last approval as made, or, while an
    edit is in force, an edit carrying the approved arguments (an accept approves what the card shows, not the
    agent's first proposal)."""


class TaskLedger:
    def __init__(self, request: TaskRequestV1, now: datetime) -> None:
        self.request = request
        self.phase: Phase = "queued"
        self.progress = ProgressV1()
        self.events: deque[ProgressEventV1] = deque(maxlen=MAX_EVENTS_KEPT)
        self.pending_checkpoint: CheckpointV1 | None = None
        self.decisions: list[DecisionRecordV1] = []
        self.result: TaskResultV1 | None = None
        self.cancellation: CancellationV1 | None = None
        self.attempt = 0
        self.started_at: datetime | None = None
        self.updated_at = now
        self.finished_at: datetime | None = None
        self.slack = SlackMessagesV1()

    @classmethod
    def from_snapshot(cls, request: TaskRequestV1, snapshot: TaskStatusV1) -> TaskLedger:
        """The ledger a continued run starts from: `snapshot()` of the run before, which is what it carries over.

        Everything the status showed comes back as it was; the decisions are the latest 200 (all the status ever
        shows), so a click on a checkpoint decided longer ago reads as no longer pending rather than naming who
        decided it."""
        ledger = cls(request, snapshot.updated_at)
        ledger.phase = snapshot.phase
        ledger.progress = snapshot.progress
        ledger.events.extend(snapshot.events)
        ledger.pending_checkpoint = snapshot.pending_checkpoint
        ledger.decisions = list(snapshot.decisions)
        ledger.result = snapshot.result
        ledger.cancellation = snapshot.cancellation
        ledger.attempt = snapshot.attempt
        ledger.started_at = snapshot.started_at
        ledger.finished_at = snapshot.finished_at
        ledger.slack = snapshot.slack
        return ledger

    def running(self, now: datetime) -> None:
        self.phase = "running"
        self.started_at = self.started_at or now
        self.updated_at = now

    def record_progress(self, event: ProgressEventV1, now: datetime) -> None:
        self.events.append(event)
        self.progress = ProgressV1.of_event(event)
        self.attempt = max(self.attempt, event.attempt)
        self.updated_at = now

    def wait_for_human(self, checkpoint: CheckpointV1, now: datetime) -> None:
        self.phase = "waiting_for_human"
        self.pending_checkpoint = checkpoint
        self.progress = self.progress.model_copy(update={"message": f"Waiting for a decision: {checkpoint.title}"})
        self.updated_at = now

    def update_checkpoint(self, checkpoint: CheckpointV1, now: datetime) -> None:
        self.pending_checkpoint = checkpoint
        self.updated_at = now

    def record_approval(self, checkpoint: CheckpointV1, decision: DecisionV1, now: datetime) -> Tally:
        """Count an accept or an edit toward `checkpoint`'s quorum (the rules: contracts.approval, `count_approval`)."""
        checkpoint, tally = count_approval(checkpoint, decision, now)
        self.update_checkpoint(checkpoint, now)
        return tally

    def record_action_decision(self, checkpoint: CheckpointV1, decision: DecisionV1, now: datetime) -> Tally:
        """A decision on one of `checkpoint`'s actions (`decision.action`, which the validator checked): an approval
        toward that action's quorum, or its decision. The tally's `decision` is the action's, once it has one."""
        index = decision.action if decision.action is not None else 0
        action = checkpoint.actions[index]
        if action.quorum > 1 and decision.decision in APPROVING_DECISIONS:
            action, tally = count_approval(action, decision, now)
        else:
            tally = Tally(len(action.approvals), action.quorum, [], decision)
        if tally.decision is not None:
            action = action.model_copy(update={"decision": tally.decision, "state": "decided"})
        actions = list(checkpoint.actions)
        actions[index] = action
        self.update_checkpoint(checkpoint.model_copy(update={"actions": actions}), now)
        return tally

    def record_decision(self, checkpoint: CheckpointV1, decision: DecisionV1, now: datetime) -> None:
        approvals: list[ApprovalV1] = []
        if decision.decision in APPROVING_DECISIONS:
            approvals = [r for r in checkpoint.approval_log if r.withdrawn_by is None and r.by in checkpoint.approvals]
        self.decisions.append(
            DecisionRecordV1(
                checkpoint_id=checkpoint.id,
                checkpoint_title=checkpoint.title,
                decision=decision.decision,
                by=decision.by,
                text=_actions_summary(checkpoint, decision) if checkpoint.actions else decision.text,
                at=decision.at,
                approvals=approvals[-10:],
            )
        )
        self.pending_checkpoint = None
        self.updated_at = now

    def cancel_requested(self, cancellation: CancellationV1, now: datetime) -> None:
        self.cancellation = cancellation
        self.updated_at = now

    def finish(self, phase: Phase, result: TaskResultV1, now: datetime) -> None:
        self.phase = phase
        self.result = result
        self.pending_checkpoint = None
        self.finished_at = now
        self.updated_at = now
        if phase == "completed" and self.progress.total:
            self.progress = ProgressV1(
                step=self.progress.total, total=self.progress.total, percent=100.0, message="Done"
            )

    def snapshot(self) -> TaskStatusV1:
        return TaskStatusV1.of_request(
            self.request,
            self.phase,
            self.updated_at,
            progress=self.progress,
            events=list(self.events),
            pending_checkpoint=self.pending_checkpoint,
            decisions=self.decisions[-200:],
            result=self.result,
            cancellation=self.cancellation,
            attempt=self.attempt,
            started_at=self.started_at,
            finished_at=self.finished_at,
            slack=self.slack,
        )


def count_approval(checkpoint: CheckpointV1, decision: DecisionV1, now: datetime) -> tuple[CheckpointV1, Tally]:
    """`checkpoint` with an accept or an edit counted toward its quorum (the rules: contracts.approval).

    An edit that changes the arguments puts them in `proposed_action` (the agent's own stay in
    `original_action`), withdraws every other approval and counts as its author's; an edit back to the agent's
    arguments ends the edit in force. The validator refuses a second approval by the same person; should one
    arrive anyway, it is not counted twice."""
    edited = decision.edited_args if decision.decision == "edit" else None
    args = current_args(checkpoint) if edited is None else edited
    digest = args_digest(args)
    approvals = list(checkpoint.approvals)
    log = list(checkpoint.approval_log)
    changes: dict[str, Any] = {}
    withdrawn: list[str] = []
    if changes_args(checkpoint, args):
        withdrawn = [user for user in approvals if user != decision.by]
        approvals = []
        log = [r if r.withdrawn_by else r.model_copy(update={"withdrawn_by": decision.by}) for r in log]
        original = checkpoint.original_action or checkpoint.proposed_action or ProposedActionV1(name="")
        restored = args_digest(original.args) == digest
        changes = {
            "proposed_action": ProposedActionV1(name=original.name, args=dict(args)),
            "original_action": None if restored else original,
            "edited_by": None if restored else decision.by,
        }
    if decision.by not in approvals:
        approvals.append(decision.by)
        kind: ApprovingDecision = "edit" if decision.decision == "edit" else "accept"
        log.append(ApprovalV1(by=decision.by, decision=kind, args_digest=digest, at=now))
    checkpoint = checkpoint.model_copy(
        update={**changes, "approvals": approvals, "approval_log": log[-MAX_APPROVAL_LOG:]}
    )
    if len(approvals) < checkpoint.quorum:
        return checkpoint, Tally(len(approvals), checkpoint.quorum, withdrawn, None)
    final = decision
    if checkpoint.original_action is not None:
        final = decision.model_copy(update={"decision": "edit", "edited_args": current_args(checkpoint)})
    return checkpoint, Tally(len(approvals), checkpoint.quorum, withdrawn, final)


def _actions_summary(checkpoint: CheckpointV1, last: DecisionV1) -> str:
    """What each action got, one line each: the record of a checkpoint decided per action names one decision
    (`last`, the one that completed it, or the expiry's) and keeps the others here."""
    lines = []
    for index, action in enumerate(checkpoint.actions, start=1):
        name = action.proposed_action.name if action.proposed_action else action.title
        decision = action.decision or last
        line = f"{index}. {name}: {decision.decision} by {decision.by}"
        lines.append(line + (f" ({decision.text})" if decision.text else ""))
    return "\n".join(lines)[:MAX_LONG_TEXT]
