"""Who may decide a checkpoint: one pure rule shared by the workflow's `decide` validator and the Slack bot, with
the one wording both use for a checkpoint that is no longer pending.

The workflow is the authority (its validator runs this and rejects without writing history); the bot runs the same
rule first so a click from someone not allowed gets an explanation without any call to Temporal.
"""

from __future__ import annotations

from collections.abc import Sequence

from contracts.checkpoint import CheckpointV1, DecisionKind
from contracts.task import ApprovalPolicyV1

APPROVING_DECISIONS: frozenset[str] = frozenset({"accept", "edit"})
EXPIRY_DECIDER = "expiry"
"""Who a decision is recorded as made by when the expiry policy applied its default."""
NO_LONGER_PENDING = "This is no longer pending."


def refusal_reason(
    policy: ApprovalPolicyV1,
    requester_id: str,
    checkpoint: CheckpointV1,
    decision: DecisionKind,
    user_id: str,
    user_groups: Sequence[str] = (),
) -> str | None:
    """Why `user_id` may not make `decision` on `checkpoint`, or None when they may."""
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
    if decision == "accept" and user_id in checkpoint.approvals:
        return f"<@{user_id}> has already approved; {checkpoint.quorum} distinct approvals are needed."
    return None


def already_decided(decision: str, by: str) -> str:
    """The one wording for a decision on a checkpoint that was already decided: the workflow's `decide` validator
    rejects with it and the bot answers a late click with it. `decision` is the decision as the reader knows it
    (the bot passes its button label)."""
    who = "the expiry policy" if by == EXPIRY_DECIDER else f"<@{by}>"
    return f"This is no longer pending: {who} already chose {decision}."


def may_cancel(policy: ApprovalPolicyV1, requester_id: str, user_id: str) -> bool:
    """The requester and the policy's admins may cancel a task."""
    return user_id == requester_id or user_id in policy.admins
