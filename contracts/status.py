"""What a person sees about a task: the single source of truth the `status` query returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from contracts.checkpoint import CheckpointV1, DecisionRecordV1
from contracts.common import MAX_EVENTS_KEPT, AgentName, Contract, RequestText, ShortText, TaskId
from contracts.result import TaskResultV1
from contracts.task import ApprovalPolicyV1, RequesterV1, TaskRequestV1

Phase = Literal["queued", "running", "waiting_for_human", "completed", "failed", "cancelled", "timed_out"]
TERMINAL_PHASES: frozenset[str] = frozenset({"completed", "failed", "cancelled", "timed_out"})


MAX_PLAN_STEPS = 30
"""Steps a plan may name: a graph with more nodes publishes its first 30 (a status message stays readable)."""


class PlanStepV1(Contract):
    """One step of an agent's plan, as its graph names it: the node, and the label a person reads."""

    schema_version: Literal[1] = 1
    node: ShortText
    label: ShortText


class ProgressEventV1(Contract):
    """One step of visible progress, sent by the agent activity to its workflow."""

    schema_version: Literal[1] = 1
    step: int = Field(default=0, ge=0)
    total: int | None = Field(default=None, ge=0)
    node: ShortText | None = None
    """The LangGraph node (or agent step) that produced this event."""
    message: ShortText = ""
    attempt: int = Field(default=1, ge=1)
    """The activity attempt that produced this event: a number above 1 means Temporal retried the agent."""
    at: datetime
    node_finished: bool = False
    """True when `node` finished with this event (a LangGraph update); False for progress from inside it."""
    plan: list[PlanStepV1] = Field(default_factory=list, max_length=MAX_PLAN_STEPS)
    """The agent's steps in graph order, sent with every event: the status keeps only the latest events, and the
    bot draws the plan from the newest. Empty from workers that predate it (the bot then shows no plan)."""


class ProgressV1(Contract):
    schema_version: Literal[1] = 1
    step: int = Field(default=0, ge=0)
    total: int | None = Field(default=None, ge=0)
    percent: float | None = Field(default=None, ge=0, le=100)
    message: ShortText = ""

    @classmethod
    def of_event(cls, event: ProgressEventV1) -> ProgressV1:
        percent = min(100.0, round(100.0 * event.step / event.total, 1)) if event.total else None
        return cls(step=event.step, total=event.total, percent=percent, message=event.message)


class CancellationV1(Contract):
    """Who cancelled a task and why: the input of the `cancel` signal."""

    schema_version: Literal[1] = 1
    by: ShortText
    reason: ShortText = ""


class SlackMessagesV1(Contract):
    """The Slack messages a task owns, recorded in the workflow so a restarted bot edits instead of posting."""

    schema_version: Literal[1] = 1
    status_ts: ShortText | None = None
    checkpoint_ts: dict[str, ShortText] = Field(default_factory=dict)
    """Checkpoint id -> ts of the card posted for it."""
    final_ts: ShortText | None = None


class TaskStatusV1(Contract):
    schema_version: Literal[1] = 1
    task_id: TaskId
    agent: AgentName
    request_text: RequestText
    parameters: dict[str, Any] = Field(default_factory=dict)
    requester: RequesterV1
    approval: ApprovalPolicyV1
    phase: Phase
    progress: ProgressV1 = Field(default_factory=ProgressV1)
    events: list[ProgressEventV1] = Field(default_factory=list, max_length=MAX_EVENTS_KEPT)
    pending_checkpoint: CheckpointV1 | None = None
    decisions: list[DecisionRecordV1] = Field(default_factory=list, max_length=200)
    result: TaskResultV1 | None = None
    cancellation: CancellationV1 | None = None
    attempt: int = Field(default=0, ge=0)
    created_at: datetime
    started_at: datetime | None = None
    updated_at: datetime
    finished_at: datetime | None = None
    slack: SlackMessagesV1 = Field(default_factory=SlackMessagesV1)

    @property
    def is_terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

    def with_progress(self, event: ProgressEventV1) -> TaskStatusV1:
        """This status as the workflow would show it had it been sent `event`, a newer report from the running agent.

        An agent whose task has no Slack thread reports progress on its activity's heartbeat instead of signalling
        the workflow (no history, no workflow task: nobody is waiting for a message edit); whoever reads the status
        adds the heartbeat's event here. Returns the status unchanged when `event` is not newer than its own."""
        if self.phase != "running" or (self.events and event.at <= self.events[-1].at):
            return self
        return self.model_copy(update={
            "progress": ProgressV1.of_event(event),
            "events": [*self.events, event][-MAX_EVENTS_KEPT:],
            "attempt": max(self.attempt, event.attempt),
            "updated_at": max(self.updated_at, event.at),
        })

    @classmethod
    def of_request(cls, request: TaskRequestV1, phase: Phase, updated_at: datetime, **state: Any) -> TaskStatusV1:
        """A status for `request`: the request's own fields, plus whatever the task's state adds (`state`)."""
        return cls(
            task_id=request.task_id,
            agent=request.agent,
            request_text=request.text,
            parameters=request.parameters,
            requester=request.requester,
            approval=request.approval,
            phase=phase,
            created_at=request.created_at,
            updated_at=updated_at,
            **state,
        )
