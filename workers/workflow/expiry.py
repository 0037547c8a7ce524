"""What happens when nobody answers a checkpoint: the timeline of reminder, escalation and the policy's default.

Pure functions of the policy and the checkpoint, so the workflow's timers stay simple and the rules are testable
without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import ApprovalPolicyV1, CheckpointV1, DecisionKind, DecisionV1


@dataclass(frozen=True)
class WaitPlan:
    reminder_after: timedelta
    """From the checkpoint's creation to the halfway reminder."""
    expiry_after: timedelta
    """From the reminder to the expiry (the rest of the TTL)."""
    escalation_window: timedelta | None
    """Extra time granted after escalating, or None when the policy has nobody to escalate to."""


def plan_wait(policy: ApprovalPolicyV1) -> WaitPlan:
    ttl = timedelta(seconds=policy.expires_after_s)
    half = ttl / 2
    window = None
    if policy.escalate_to and policy.escalation_window_s > 0:
        window = timedelta(seconds=policy.escalation_window_s)
    return WaitPlan(reminder_after=half, expiry_after=ttl - half, escalation_window=window)


def default_decision_kind(policy: ApprovalPolicyV1, checkpoint: CheckpointV1) -> DecisionKind:
    """The policy's default if the checkpoint allows it; otherwise the safest thing it does allow."""
    for kind in (policy.on_expiry, "reject", "ignore", "respond"):
        if kind in checkpoint.allowed_decisions:
            return kind
    return checkpoint.allowed_decisions[0]


def expiry_decision(policy: ApprovalPolicyV1, checkpoint: CheckpointV1, now: datetime) -> DecisionV1:
    kind = default_decision_kind(policy, checkpoint)
    reason = f"No decision before the checkpoint expired; the policy's default ({kind}) was applied."
    return DecisionV1(checkpoint_id=checkpoint.id, decision=kind, text=reason, by="expiry", at=now)
