"""Human-in-the-loop: a decision the agent waits for, and the decisions people make."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from contracts.common import Contract, LongText, ShortText, UserId

DecisionKind = Literal["accept", "edit", "reject", "respond", "ignore"]
CheckpointState = Literal["pending", "reminded", "escalated", "decided", "expired"]


class ProposedActionV1(Contract):
    """The tool call (or step) the agent wants a person to check."""

    schema_version: Literal[1] = 1
    name: ShortText
    args: dict[str, Any] = Field(default_factory=dict)


class CheckpointV1(Contract):
    """A decision the agent is waiting for. Its id is the LangGraph interrupt id, stable across retries."""

    schema_version: Literal[1] = 1
    id: ShortText
    title: ShortText
    description: LongText = ""
    proposed_action: ProposedActionV1 | None = None
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
    """Distinct users who approved so far (quorum > 1)."""


class DecisionV1(Contract):
    """The input of the `decide` update: one person's answer to one checkpoint."""

    schema_version: Literal[1] = 1
    checkpoint_id: ShortText
    decision: DecisionKind
    edited_args: dict[str, Any] | None = None
    text: LongText | None = None
    """Free text: the answer for `respond`, the reason for `reject`."""
    comment: ShortText | None = None
    by: UserId
    by_groups: list[ShortText] = Field(default_factory=list, max_length=50)
    """Slack user groups the decider belongs to, resolved by the bot (the workflow cannot call Slack)."""
    at: datetime


class DecisionOutcomeV1(Contract):
    """What the `decide` update did."""

    schema_version: Literal[1] = 1
    outcome: Literal["decided", "approval_recorded"]
    approvals: int = 0
    quorum: int = 1
    message: ShortText = ""


class DecisionRecordV1(Contract):
    """A decision as the task's story keeps it: who decided what on which checkpoint (or that it expired)."""

    schema_version: Literal[1] = 1
    checkpoint_id: ShortText
    checkpoint_title: ShortText = ""
    decision: DecisionKind
    by: ShortText
    """A user id, or `expiry` when the policy's default was applied."""
    text: LongText | None = None
    at: datetime
