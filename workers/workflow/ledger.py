"""TaskLedger: the workflow's mutable record of a task, rendered on demand as the `status` query's TaskStatusV1.

Pure and deterministic (every timestamp is passed in by the workflow from `workflow.now()`), so it is importable in
Temporal's sandbox and testable without a server.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

from contracts import (
    MAX_EVENTS_KEPT,
    CancellationV1,
    CheckpointV1,
    DecisionRecordV1,
    DecisionV1,
    Phase,
    ProgressEventV1,
    ProgressV1,
    SlackMessagesV1,
    TaskRequestV1,
    TaskResultV1,
    TaskStatusV1,
)


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

    def running(self, now: datetime) -> None:
        self.phase = "running"
        self.started_at = self.started_at or now
        self.updated_at = now

    def record_progress(self, event: ProgressEventV1, now: datetime) -> None:
        self.events.append(event)
        percent = None
        if event.total:
            percent = min(100.0, round(100.0 * event.step / event.total, 1))
        self.progress = ProgressV1(step=event.step, total=event.total, percent=percent, message=event.message)
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

    def record_decision(self, checkpoint: CheckpointV1, decision: DecisionV1, now: datetime) -> None:
        self.decisions.append(
            DecisionRecordV1(
                checkpoint_id=checkpoint.id,
                checkpoint_title=checkpoint.title,
                decision=decision.decision,
                by=decision.by,
                text=decision.text,
                at=decision.at,
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
