"""What happens when nobody answers a checkpoint: the timeline of reminder, escalation and the policy's default.

Pure functions of the policy and the checkpoint, so the workflow's timers stay simple and the rules are testable
without a server.

An expiry fails closed: it applies the policy's `on_expiry` (reject or ignore) when the checkpoint allows it, else
the nearest decision that does not let the action run (reject, ignore, respond). A checkpoint, or an undecided
action or question of one, that allows none of those (a per-call approval whose policy allows only approve and
edit) has no safe default: the workflow ends the task instead (`no_safe_default`), since approving because nobody
answered would turn an approval gate into a delay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import ApprovalPolicyV1, CheckpointV1, DecisionKind, DecisionV1

SAFE_ON_EXPIRY: tuple[DecisionKind, ...] = ("reject", "ignore", "respond")
"""The decisions an expiry may apply, nearest first after the policy's own: none of them runs the action."""


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


def safe_default(policy: ApprovalPolicyV1, allowed: Sequence[DecisionKind]) -> DecisionKind | None:
    """The policy's default if `allowed` has it, else the nearest safe decision `allowed` has, else None."""
    return next((kind for kind in (policy.on_expiry, *SAFE_ON_EXPIRY) if kind in allowed), None)


def no_safe_default(policy: ApprovalPolicyV1, checkpoint: CheckpointV1) -> list[str]:
    """What of `checkpoint` an expiry could only approve: the checkpoint's title when it is decided as a whole, else
    each undecided action or question by its number and name. Empty when the expiry has a safe default for all."""
    if not checkpoint.actions:
        return [] if safe_default(policy, checkpoint.allowed_decisions) else [_name(checkpoint)]
    return [f"{i + 1}. {_name(action)}" for i, action in enumerate(checkpoint.actions)
            if action.decision is None and safe_default(policy, action.allowed_decisions) is None]


def no_safe_default_message(unsafe: Sequence[str]) -> str:
    """The task's failure, in words a person reads on the card and in `baton status`."""
    what = "this action allows" if len(unsafe) == 1 else "these actions allow"
    return (f"Nobody decided in time, and {what} no safe default ({'; '.join(unsafe)}): only approve or edit, and an "
            "expiry never approves. The task was ended instead; start it again to ask again.")


def expiry_decision(policy: ApprovalPolicyV1, checkpoint: CheckpointV1, now: datetime) -> DecisionV1:
    """The decision recorded as made by the expiry. A checkpoint of several actions gets the policy's default, and
    each undecided action the nearest safe decision its own policy allows (`workers.actions`).

    When no safe decision is allowed the workflow ends the task before asking this (`no_safe_default`); only runs
    recorded before that rule replay the old fallback, the first allowed decision, here."""
    kind = safe_default(policy, checkpoint.allowed_decisions)
    if kind is None:
        kind = policy.on_expiry if checkpoint.actions else checkpoint.allowed_decisions[0]
    reason = f"No decision before the checkpoint expired; the policy's default ({kind}) was applied."
    return DecisionV1(checkpoint_id=checkpoint.id, decision=kind, text=reason, by="expiry", at=now)


def _name(checkpoint: CheckpointV1) -> str:
    return checkpoint.proposed_action.name if checkpoint.proposed_action else checkpoint.title
