"""Human-in-the-loop: a decision the agent waits for, and the decisions people make."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final, Literal

from pydantic import Field, field_validator
from pydantic_core import to_json

from contracts.common import Contract, GrownContract, LongText, ShortText, UserId

DecisionKind = Literal["accept", "edit", "reject", "respond", "ignore"]
ApprovingDecision = Literal["accept", "edit"]
CheckpointState = Literal["pending", "reminded", "escalated", "decided", "expired"]

MAX_ARGS_BYTES: Final = 64 * 1024
"""The most agent- or person-supplied JSON one field of a checkpoint or decision may hold, as compact UTF-8 JSON:
a checkpoint's proposed arguments, its raw interrupt and its argument schema, and a decision's edited arguments.
They ride in Temporal payloads (the activity's result and next input, the status query, the final memo), where the
SDK warns at 512 KiB and the server refuses 2 MB: a few such fields at the bound stay well under the warning, and a
person reviewing more than 64 KiB of arguments in Slack is not reviewing them."""


def json_bytes(value: Any) -> int:
    """Size of `value` as compact UTF-8 JSON, the form the pydantic data converter puts in a payload."""
    return len(to_json(value, fallback=str))


def too_large(what: str, size: int) -> str:
    """One wording for every place that refuses oversized arguments: '200 KB of edited arguments; the limit is
    64 KB' (KB of 1,024 bytes, rounded up so a value just over the bound never reads as equal to it)."""
    return f"{-(-size // 1024):,} KB of {what}; the limit is {MAX_ARGS_BYTES // 1024} KB"


class ProposedActionV1(Contract):
    """The tool call (or step) the agent wants a person to check."""

    schema_version: Literal[1] = 1
    name: ShortText
    args: dict[str, Any] = Field(default_factory=dict)


class ApprovalV1(Contract):
    """One person's approval of one version of a checkpoint's arguments (quorum > 1): an edit is its author's
    approval of the arguments it wrote, and withdraws the approvals of the arguments it replaced."""

    schema_version: Literal[1] = 1
    by: UserId
    decision: ApprovingDecision
    args_digest: ShortText
    """`contracts.approval.args_digest` of the arguments approved: which version this approval was for."""
    at: datetime
    """Workflow time at which the approval counted."""
    withdrawn_by: UserId | None = None
    """Who edited the arguments after this approval, withdrawing it; None while it counts."""


class CheckpointV1(GrownContract):
    """A decision the agent is waiting for. Its id is the LangGraph interrupt id, stable across retries."""

    added_fields: ClassVar[tuple[str, ...]] = ("original_action", "edited_by", "approval_log", "args_schema")

    schema_version: Literal[1] = 1
    id: ShortText
    title: ShortText
    description: LongText = ""
    proposed_action: ProposedActionV1 | None = None
    """What people are asked to approve: the agent's proposal, or the arguments of the edit in force."""
    allowed_decisions: list[DecisionKind] = Field(min_length=1, max_length=5)
    convention: Literal["hitl_middleware", "agent_inbox", "plain"] = "plain"
    """Which interrupt convention produced it: decides how a decision is turned back into a resume value."""
    raw_interrupt: Any = None
    """The interrupt's value as the agent wrote it, kept so the adapter can map the decision back."""
    allowed_users: list[UserId] = Field(default_factory=list, max_length=100)
    quorum: int = Field(default=1, ge=1, le=10)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    state: CheckpointState = "pending"
    approvals: list[UserId] = Field(default_factory=list, max_length=10)
    """Distinct users whose approval of the current `proposed_action` counts toward the quorum (quorum > 1)."""
    original_action: ProposedActionV1 | None = None
    """The agent's own proposal, kept once an edit put other arguments in `proposed_action` (which always holds what
    people are asked to approve now); None while nobody has changed them."""
    edited_by: UserId | None = None
    """Who wrote the arguments in `proposed_action`, when they are not the agent's."""
    approval_log: list[ApprovalV1] = Field(default_factory=list, max_length=50)
    """Every approval so far, withdrawn ones included, oldest first (the latest 50)."""
    args_schema: dict[str, Any] | None = None
    """JSON Schema of the tool's arguments, when the interrupt carried one: the bot and the CLI check an edit
    against it before sending it. Kept here rather than on `proposed_action`, which the workflow rebuilds as edits
    come in. The workflow never reads it: a JSON Schema validator is no import for its sandbox, and the agent's tool
    validates its arguments again anyway."""


class DecisionV1(Contract):
    """The input of the `decide` update: one person's answer to one checkpoint."""

    schema_version: Literal[1] = 1
    checkpoint_id: ShortText
    decision: DecisionKind
    edited_args: dict[str, Any] | None = None
    """At most `MAX_ARGS_BYTES` as JSON: a person's edit goes into the workflow's history and the agent's tool call."""
    text: LongText | None = None
    """Free text: the answer for `respond`, the reason for `reject`."""
    comment: ShortText | None = None
    by: UserId
    by_groups: list[ShortText] = Field(default_factory=list, max_length=50)
    """Slack user groups the decider belongs to, resolved by the bot (the workflow cannot call Slack)."""
    at: datetime

    @field_validator("edited_args")
    @classmethod
    def _edited_args_fit(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """The last guard (the bot and the CLI refuse earlier, in their own words). Runs in the workflow too, on the
        update's input: pure and deterministic, and every decision in a recorded history is a few KB at most."""
        if value is not None and (size := json_bytes(value)) > MAX_ARGS_BYTES:
            raise ValueError(f"edited arguments too large: {too_large('JSON', size)}")
        return value


class DecisionOutcomeV1(GrownContract):
    """What the `decide` update did."""

    added_fields: ClassVar[tuple[str, ...]] = ("withdrawn",)

    schema_version: Literal[1] = 1
    outcome: Literal["decided", "approval_recorded"]
    approvals: int = 0
    quorum: int = 1
    message: ShortText = ""
    withdrawn: list[UserId] = Field(default_factory=list, max_length=10)
    """People whose approvals this decision withdrew: it was an edit that changed the arguments they approved."""


class DecisionRecordV1(GrownContract):
    """A decision as the task's story keeps it: who decided what on which checkpoint (or that it expired)."""

    added_fields: ClassVar[tuple[str, ...]] = ("approvals",)

    schema_version: Literal[1] = 1
    checkpoint_id: ShortText
    checkpoint_title: ShortText = ""
    decision: DecisionKind
    by: ShortText
    """A user id, or `expiry` when the policy's default was applied."""
    text: LongText | None = None
    at: datetime
    approvals: list[ApprovalV1] = Field(default_factory=list, max_length=10)
    """The approvals that made up the quorum, when one was needed (quorum > 1)."""
