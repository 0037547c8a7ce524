"""Who may decide a checkpoint: one pure rule shared by the workflow's `decide` validator and the Slack bot, with
the one wording both use for a checkpoint that is no longer pending.

The workflow is the authority (its validator runs this and rejects without writing history); the bot runs the same
rule first so a click from someone not allowed gets an explanation without any call to Temporal.

Quorum (`quorum` > 1): every approving decision (accept, and edit) counts once per person, for the arguments it
approves. An edit that changes the arguments is its author's approval of the new ones and withdraws every approval
of the old ones, as a new commit dismisses a code review; an edit that leaves them as they are is a plain approval.
Reject (and respond, ignore) decides at once and is not an approval.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from contracts.checkpoint import CheckpointV1, DecisionKind
from contracts.task import ApprovalPolicyV1

APPROVING_DECISIONS: frozenset[str] = frozenset({"accept", "edit"})
EXPIRY_DECIDER = "expiry"
"""Who a decision is recorded as made by when the expiry policy applied its default."""
NO_LONGER_PENDING = "This is no longer pending."


def current_args(checkpoint: CheckpointV1) -> dict[str, Any]:
    """The arguments an approval of `checkpoint` approves now: the proposal's, or those of the edit in force."""
    return dict(checkpoint.proposed_action.args) if checkpoint.proposed_action else {}


def args_digest(args: Mapping[str, Any]) -> str:
    """A short fingerprint of `args`, equal exactly when their JSON is (so `1`, `1.0` and `true` differ, and key
    order does not matter): how an approval names the version of the arguments it approved."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def changes_args(checkpoint: CheckpointV1, edited_args: Mapping[str, Any]) -> bool:
    """Whether an edit to `edited_args` changes what `checkpoint` asks people to approve."""
    return args_digest(edited_args) != args_digest(current_args(checkpoint))


def refusal_reason(
    policy: ApprovalPolicyV1,
    requester_id: str,
    checkpoint: CheckpointV1,
    decision: DecisionKind,
    user_id: str,
    user_groups: Sequence[str] = (),
    edited_args: Mapping[str, Any] | None = None,
) -> str | None:
    """Why `user_id` may not make `decision` on `checkpoint`, or None when they may.

    `edited_args` are an edit's arguments, None while they are not known yet (the bot checks an Edit click before
    the form is filled in). Someone whose approval already counts may not approve the same arguments again, by
    accept or by an edit that changes nothing: one person is one approval."""
    if decision not in checkpoint.allowed_decisions:
        allowed = ", ".join(checkpoint.allowed_decisions)
        return f"'{decision}' is not a decision this checkpoint allows (allowed: {allowed})."
    if user_id not in policy.admins:
        if user_id == requester_id and decision in APPROVING_DECISIONS and not policy.requester_may_approve:
            return "The requester may not approve their own task."
        allowed_users = set(policy.approvers) | set(checkpoint.allowed_users)
        in_group = bool(set(user_groups) & set(policy.approver_groups))
        if (allowed_users or policy.approver_groups) and user_id not in allowed_users and not in_group:
            return f"<@{user_id}> is not an approver for this task."
    if user_id in checkpoint.approvals and (
        decision == "accept"
        or (decision == "edit" and edited_args is not None and not changes_args(checkpoint, edited_args))
    ):
        return f"<@{user_id}> has already approved these arguments; {checkpoint.quorum} distinct approvals are needed."
    return None


def already_decided(decision: str, by: str) -> str:
    """The one wording for a decision on a checkpoint that was already decided: the workflow's `decide` validator
    rejects with it and the bot answers a late click with it. `decision` is the decision as the reader knows it
    (the bot passes its button label)."""
    who = "the expiry policy" if by == EXPIRY_DECIDER else f"<@{by}>"
    return f"This is no longer pending: {who} already chose {decision}."


def action_under_review(checkpoint: CheckpointV1, action: int | None) -> CheckpointV1 | str:
    """What a decision naming `action` decides: the checkpoint itself, or one of its `actions` still waiting; else
    why not (a checkpoint with several actions is decided one action at a time, each once). The workflow's
    validator, the bot and the CLI all ask this, so a person reads the same refusal wherever they decide."""
    if not checkpoint.actions:
        return checkpoint if action is None else f"This checkpoint has no action {action + 1}."
    if action is None:
        count = len(checkpoint.actions)
        return f"This checkpoint asks about {count} actions; decide each one: {list_actions(checkpoint)}."
    if not 0 <= action < len(checkpoint.actions):
        return f"This checkpoint has no action {action + 1}; its actions: {list_actions(checkpoint)}."
    chosen = checkpoint.actions[action]
    if chosen.decision is not None:
        return already_decided(chosen.decision.decision, chosen.decision.by)
    return chosen


def list_actions(checkpoint: CheckpointV1) -> str:
    """'1. write_file (pending), 2. delete_rows (reject)': the actions as the CLI and refusals number them."""
    return ", ".join(
        f"{i + 1}. {a.proposed_action.name if a.proposed_action else a.title} "
        f"({a.decision.decision if a.decision else 'pending'})"
        for i, a in enumerate(checkpoint.actions)
    )


def may_cancel(policy: ApprovalPolicyV1, requester_id: str, user_id: str) -> bool:
    """The requester and the policy's admins may cancel a task."""
    return user_id == requester_id or user_id in policy.admins


def may_view(
    policy: ApprovalPolicyV1,
    requester_id: str,
    user_id: str,
    user_groups: Sequence[str] = (),
    in_conversation: bool = False,
    checkpoint: CheckpointV1 | None = None,
) -> bool:
    """Whether `user_id` may read a task at all (its request, the checkpoint's arguments, its result): its
    requester, its admins, its approvers (named by the policy or by the pending `checkpoint`, or through one of
    `user_groups`), and the members of the conversation it was started in (`in_conversation`, which the caller
    resolves). Everyone else is told the task does not exist, so that its existence stays private too."""
    if user_id == requester_id or user_id in policy.admins or user_id in policy.approvers:
        return True
    if checkpoint is not None and user_id in checkpoint.allowed_users:
        return True
    return bool(set(user_groups) & set(policy.approver_groups)) or in_conversation
