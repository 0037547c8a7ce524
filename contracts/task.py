"""What a person asked for: the request that starts one durable agent task."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, TypeAdapter, field_validator

from contracts.common import (
    MAX_SHORT_TEXT,
    AgentName,
    Contract,
    GrownContract,
    RequestText,
    ShortText,
    TaskId,
    UserId,
    utc_now,
)
from contracts.ids import task_id_for
from contracts.names import NOTIFY_TASK_QUEUE

Platform = Literal["slack", "cli", "api"]
ExpiryDefault = Literal["reject", "ignore"]


class RequesterV1(Contract):
    """Who asked, and where the answer goes (for Slack: the channel and the thread)."""

    schema_version: Literal[1] = 1
    platform: Platform = "cli"
    team_id: ShortText | None = None
    user_id: UserId
    user_name: ShortText | None = None
    channel_id: ShortText | None = None
    thread_ts: ShortText | None = None
    notify_task_queue: ShortText = NOTIFY_TASK_QUEUE
    """The Temporal task queue of the bot that owns this conversation: its `notify` activity keeps the thread live."""

    @property
    def in_slack(self) -> bool:
        """Whether a Slack thread shows the task: its workflow keeps the thread's messages live as the task moves."""
        return self.platform == "slack"


class ApprovalPolicyV1(Contract):
    """Who may decide a checkpoint or cancel a task, how many must agree, and what happens when nobody does."""

    schema_version: Literal[1] = 1
    approvers: list[UserId] = Field(default_factory=list, max_length=100)
    """Slack user ids allowed to decide. Empty means anyone in the conversation (subject to the flags below)."""
    approver_groups: list[ShortText] = Field(default_factory=list, max_length=20)
    """Slack user group ids whose members may decide; resolved by the bot, never by the workflow."""
    requester_may_approve: bool = True
    quorum: int = Field(default=1, ge=1, le=10)
    """Distinct approvals needed before an approve decision takes effect."""
    admins: list[UserId] = Field(default_factory=list, max_length=100)
    """May cancel any task and decide any checkpoint."""
    expires_after_s: int = Field(default=24 * 3600, ge=1, le=30 * 24 * 3600)
    escalate_to: list[UserId] = Field(default_factory=list, max_length=20)
    escalation_window_s: int = Field(default=4 * 3600, ge=0, le=7 * 24 * 3600)
    on_expiry: ExpiryDefault = "reject"


class ExecutionOptionsV1(GrownContract):
    """How hard Temporal tries: timeouts and retries for the agent activity, and how long one run may grow."""

    added_fields: ClassVar[tuple[str, ...]] = ("continue_as_new_after_events",)

    schema_version: Literal[1] = 1
    start_to_close_s: int = Field(default=2 * 3600, ge=1, le=7 * 24 * 3600)
    heartbeat_timeout_s: int = Field(default=30, ge=1, le=3600)
    max_attempts: int = Field(default=5, ge=1, le=100)
    initial_retry_interval_s: float = Field(default=1.0, gt=0, le=3600)
    continue_as_new_after_events: int | None = Field(default=None, ge=100, le=10_000)
    """History events after which the task's workflow hands over to a fresh run at its next checkpoint decided
    (continue-as-new); None for the workflow's own bound (2,000). Temporal warns at 10,240 events a run."""


class TaskRequestV1(Contract):
    """One request to run one agent (the article's AgentInputArgsV1)."""

    schema_version: Literal[1] = 1
    task_id: TaskId
    agent: AgentName
    text: RequestText
    parameters: dict[str, Any] = Field(default_factory=dict)
    requester: RequesterV1
    approval: ApprovalPolicyV1 = Field(default_factory=ApprovalPolicyV1)
    execution: ExecutionOptionsV1 = Field(default_factory=ExecutionOptionsV1)
    idempotency_key: ShortText
    created_at: datetime

    @classmethod
    def new(cls, agent: str, text: str, requester: RequesterV1, idempotency_key: str, *,
            parameters: Mapping[str, Any] | None = None, approval: ApprovalPolicyV1 | None = None) -> Self:
        """The one way Baton builds a request (bot, CLI, delegation tools), so every front door derives the task id
        the same way: from the idempotency key, whole (`task_id_for`). The same key, from a Slack event delivered
        three times or a CLI call run twice, names the same workflow, which Temporal never starts twice. The key
        itself is kept for the record, cut to the contract's bound."""
        return cls(
            task_id=task_id_for(agent, idempotency_key),
            agent=agent,
            text=text,
            parameters=dict(parameters or {}),
            requester=requester,
            approval=approval or ApprovalPolicyV1(),
            idempotency_key=idempotency_key[:MAX_SHORT_TEXT],
            created_at=utc_now(),
        )

    @field_validator("parameters")
    @classmethod
    def _parameters_are_small(cls, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 50:
            raise ValueError("at most 50 parameters are allowed")
        if len(repr(value)) > 16_000:
            raise ValueError("parameters are too large (16,000 characters at most)")
        return value


DEFAULT_AGENT_VERSION = "1"
"""The version of an agent that declares none, and of every checkpoint and request written before versions existed."""


class TaskRequestV2(TaskRequestV1):
    """A TaskRequestV1 that also names the agent version it was started on (`agent_version`).

    The worked example of Baton's contract evolution rule: a field that old readers must not be sent makes a new
    version, not a grown V1. It subclasses V1, so every consumer typed against V1 (agents, the ledger) reads a V2
    unchanged; fields that carry a request accept both (`AnyTaskRequest`), and `upgrade_task_request` turns a V1
    into a V2 where a V2 is needed. Readers go first: workers and bots read both before any gateway writes a V2."""

    schema_version: Literal[2] = 2  # type: ignore[assignment]  # the one field whose value tells V2 from V1
    agent_version: ShortText | None = None
    """The agent's version in the catalog when the task was submitted; None when the catalog named none."""


AnyTaskRequest = Annotated[TaskRequestV2 | TaskRequestV1, Field(discriminator="schema_version")]
"""A request of either version, told apart by `schema_version`: the type of every field and input that carries a
request while V1 tasks are in flight. V2 comes first so that a V2 is written whole (it is also a V1)."""


def upgrade_task_request(request: TaskRequestV1, agent_version: str | None = None) -> TaskRequestV2:
    """`request` as a V2: a V1 gains `agent_version` (None: not known); a V2 keeps its own unless one is given."""
    if isinstance(request, TaskRequestV2):
        if agent_version is None or agent_version == request.agent_version:
            return request
        return request.model_copy(update={"agent_version": agent_version})
    fields = {name: getattr(request, name) for name in TaskRequestV1.model_fields if name != "schema_version"}
    return TaskRequestV2(**fields, agent_version=agent_version)


_ANY_TASK_REQUEST: TypeAdapter[TaskRequestV2 | TaskRequestV1] = TypeAdapter(AnyTaskRequest)


def read_task_request(data: Any) -> TaskRequestV1:
    """A request of either version from JSON-shaped data read without a type (the task's `request` memo)."""
    return _ANY_TASK_REQUEST.validate_python(data)
