"""What a long task hands from one Temporal run to the next when its workflow continues as new.

A run's history only grows (every checkpoint, decision and Slack update adds events), so a task with hundreds of
checkpoints hands over to a fresh run now and then. The person must see no difference: the same task id, the same
status, the same Slack messages edited in place. A run's first input is the bare TaskRequestV1 the front door
submitted (what every recorded history holds); the runs after it get a TaskContinuationV1, which the workflow tells
apart by its shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.activities import ResumeV1
from contracts.common import Contract
from contracts.result import UsageV1
from contracts.status import TaskStatusV1
from contracts.task import AnyTaskRequest


class TaskContinuationV1(Contract):
    """AgentWorkflow's input for every run after the first: the request, and the task as it stood at the hand-over."""

    schema_version: Literal[1] = 1
    request: AnyTaskRequest
    """The request as first submitted, unchanged (the agent, the policy, the execution options)."""
    status: TaskStatusV1
    """The task's ledger as its `status` query showed it at the hand-over: phase, progress, the tail of events, the
    latest decisions (the status keeps 200), the pending checkpoint if any, who cancelled, when it started, and in
    `slack` the ts's of the messages the thread already has, so the next run edits them instead of posting again."""
    usage: UsageV1 = Field(default_factory=UsageV1)
    """Model usage of every run so far: the result reports the whole task's."""
    resume: ResumeV1 | None = None
    """What the agent resumes with first: the decision the last run recorded just before it handed over."""
