"""Inputs and outputs of Baton's activities: one contract in, one out, for every activity."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.checkpoint import CheckpointV1, DecisionV1
from contracts.common import Contract, GrownContract, ShortText, TaskId, UserId
from contracts.result import TaskResultV1, UsageV1
from contracts.status import ProgressEventV1, SlackMessagesV1
from contracts.task import AnyTaskRequest


class ResumeV1(Contract):
    """The human answer an interrupted agent resumes with (a decision, or the policy default on expiry)."""

    schema_version: Literal[1] = 1
    checkpoint: CheckpointV1
    decision: DecisionV1


class RunAgentInputV1(Contract):
    schema_version: Literal[1] = 1
    request: AnyTaskRequest
    """V1 or V2 (contracts.task): a task started before V2 existed still runs."""
    resume: ResumeV1 | None = None


class RunAgentOutputV1(GrownContract):
    """Either the agent finished (`result`) or it stopped at an interrupt (`checkpoint`) and waits for a person."""

    added_fields = ("last_progress",)
    schema_version: Literal[1] = 1
    kind: Literal["completed", "interrupted"]
    result: TaskResultV1 | None = None
    checkpoint: CheckpointV1 | None = None
    usage: UsageV1 = Field(default_factory=UsageV1)
    """Usage of this activity run only; the workflow adds runs up."""
    last_progress: ProgressEventV1 | None = None
    """The run's newest progress not yet signalled: carried here instead of a `progress` signal sent just before
    the result, which cost the workflow's history a signal and a workflow task for nothing the result cannot say."""


NotifyKind = Literal["status", "checkpoint", "reminder", "escalation", "final"]


class NotifyInputV1(Contract):
    """Asks the bot to bring a task's Slack thread up to date. The bot reads the task's status at delivery time."""

    schema_version: Literal[1] = 1
    task_id: TaskId
    kind: NotifyKind = "status"
    checkpoint_id: ShortText | None = None
    mention: list[UserId] = Field(default_factory=list, max_length=50)
    """People to ping in the thread (approvers on a reminder, the escalation target on escalation)."""
    messages: SlackMessagesV1 = Field(default_factory=SlackMessagesV1)
    """The messages the task already owns, so delivery edits in place."""


class NotifyResultV1(Contract):
    schema_version: Literal[1] = 1
    messages: SlackMessagesV1
