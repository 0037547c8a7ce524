"""Human-in-the-loop: a decision the agent waits for, and the decisions people make."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import from_json, to_json

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


MAX_ACTIONS: Final = 20
"""The most actions one checkpoint asks about separately."""


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

    added_fields: ClassVar[tuple[str, ...]] = (
        "original_action", "edited_by", "approval_log", "args_schema", "actions", "decision", "interrupt_ids",
    )

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
    actions: list[CheckpointV1] = Field(default_factory=list, max_length=MAX_ACTIONS)
    """One entry per action when the interrupt asks about several at once (a batched HumanInTheLoopMiddleware
    turn), each decided on its own (`DecisionV1.action` names it) with its own allowed decisions, argument schema,
    approvals and quorum; the agent resumes once every one has its `decision`. Entry i's id is
    `action_ref(checkpoint.id, i)`. Empty for a checkpoint about one thing, which is decided as a whole."""
    decision: DecisionV1 | None = None
    """An action's decision once it is made (entries of `actions` only)."""
    interrupt_ids: list[ShortText] = Field(default_factory=list, max_length=MAX_ACTIONS)
    """Set when the agent paused on several interrupts at once (parallel nodes, subagents): entry i of `actions`
    is the question interrupt `interrupt_ids[i]` asked, decided like an action, and the agent resumes with every
    answer by interrupt id once all are given. Empty otherwise."""


def action_ref(checkpoint_id: str, index: int) -> str:
    """The id of a checkpoint's `index`th action: what a card's buttons point at."""
    return f"{checkpoint_id}#{index}"


def split_action_ref(ref: str) -> tuple[str, int | None]:
    """(checkpoint id, action index or None) of a checkpoint id or an `action_ref`."""
    base, sep, index = ref.rpartition("#")
    if sep and index.isdigit() and len(index) <= 3:
        return base, int(index)
    return ref, None


class DecisionV1(GrownContract):
    """The input of the `decide` update: one person's answer to one checkpoint (or to one of its `actions`)."""

    added_fields: ClassVar[tuple[str, ...]] = ("text_is_json", "action")

    schema_version: Literal[1] = 1
    checkpoint_id: ShortText
    decision: DecisionKind
    action: int | None = Field(default=None, ge=0, lt=MAX_ACTIONS)
    """Which of the checkpoint's `actions` this decides (0-based); None for a checkpoint decided as a whole."""
    edited_args: dict[str, Any] | None = None
    """At most `MAX_ARGS_BYTES` as JSON: a person's edit goes into the workflow's history and the agent's tool call."""
    text: LongText | None = None
    """Free text: the answer for `respond`, the reason for `reject`."""
    comment: ShortText | None = None
    by: UserId
    by_groups: list[ShortText] = Field(default_factory=list, max_length=50)
    """Slack user groups the decider belongs to, resolved by the bot (the workflow cannot call Slack)."""
    at: datetime
    text_is_json: bool | None = None
    """True when the person marked `text` as JSON: an undeclared plain interrupt then gets the parsed value, not the
    text. None (left out of the payload) otherwise."""

    @model_validator(mode="after")
    def _json_text_parses(self) -> DecisionV1:
        """Refused in the update's input, before anything is written, rather than failing the agent on resume."""
        if self.text_is_json:
            try:
                from_json(self.text or "")
            except ValueError as exc:
                raise ValueError(f"the answer is marked as JSON and is not JSON: {exc}") from exc
        return self

    @field_validator("edited_args")
    @classmethod
    def _edited_args_fit(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """The last guard (the bot and the CLI refuse earlier, in their own words). Runs in the workflow too, on the
        update's input: pure and deterministic, and every decision in a recorded history is a few KB at most."""
        if value is not None and (size := json_bytes(value)) > MAX_ARGS_BYTES:
            raise ValueError(f"edited arguments too large: {too_large('JSON', size)}")
        return value


CheckpointV1.model_rebuild()


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
