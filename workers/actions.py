"""Per-action decisions for a batched `HumanInTheLoopMiddleware` interrupt: one checkpoint whose `actions` each
carry their own allowed decisions (the action's `review_configs` entry) and argument schema, and the resume value
`{"decisions": [...]}` built from each action's own decision, in action order.

    HITLRequest {action_requests: [a0, a1], review_configs: [c0, c1]}
        -> CheckpointV1(actions=[CheckpointV1(id="<interrupt id>#0", ...a0, c0), CheckpointV1(id="...#1", ...)])
    every action decided -> {"decisions": [decision of a0, decision of a1]}

A checkpoint about one action stays as it always was (decided as a whole): see `workers.interrupts`.

Several interrupts pending at once (parallel nodes, subagents) use the same machinery: one checkpoint whose entries
are the questions, each the checkpoint its interrupt alone would have been, with `interrupt_ids` naming the interrupt
each answers; the resume value is `{interrupt id: that question's answer, ...}` once every one is answered.

    state.interrupts [i0, i1]  -> CheckpointV1(id=i0.id, interrupt_ids=[i0.id, i1.id],
                                               actions=[checkpoint of i0 as "<i0.id>#0", of i1 as "<i0.id>#1"])
    every question answered    -> Command(resume={i0.id: answer 0, i1.id: answer 1})

A group is made only of questions decided as a whole: when one of the interrupts is itself a batched request with
several actions, the agent is asked about the first interrupt alone, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contracts import CheckpointV1, DecisionKind, DecisionV1, ProposedActionV1
from contracts.approval import EXPIRY_DECIDER
from contracts.checkpoint import MAX_ACTIONS, action_ref
from contracts.common import MAX_LONG_TEXT, MAX_SHORT_TEXT

__all__ = ["NoSafeDefault", "group_checkpoint", "group_resume", "is_batched", "per_action_checkpoint",
           "per_action_resume"]

_ORDER: tuple[DecisionKind, ...] = ("accept", "edit", "respond", "reject", "ignore")
_FROM_HITL: dict[str, DecisionKind] = {"approve": "accept", "edit": "edit", "reject": "reject", "respond": "respond"}
_SAFEST: tuple[DecisionKind, ...] = ("reject", "ignore", "respond")
"""What an action left undecided resumes with (only an expiry leaves one): the decision's own kind if the action
allows it, else the first of these it allows. None of them runs the tool: an expiry never approves (the workflow
ends the task instead when an undecided action allows none of them, `workers.workflow.expiry.no_safe_default`)."""


class NoSafeDefault(ValueError):
    """An undecided action allows no decision an expiry may apply. The workflow ends such a task before resuming
    it; this is the activity's own guard, so that an approval is never made up here."""


def is_batched(raw: Any) -> bool:
    """Whether `raw` is a batched HITLRequest asking about more than one action (decided per action)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("action_requests"), list):
        return False
    return 1 < len(raw["action_requests"]) <= MAX_ACTIONS and "review_configs" in raw


def per_action_checkpoint(interrupt_id: str, raw: dict[str, Any]) -> CheckpointV1:
    """The checkpoint of a batched request: a summary (title, description, every action's name and arguments, as
    before per-action decisions) for readers that know nothing of `actions`, and one entry per action to decide by.

    The checkpoint's own `allowed_decisions` are what it offered before per-action decisions (the kinds every action
    allows, less edit), for readers that know nothing of `actions`; never `respond`, so a reply in the thread is not
    taken as the answer to every action at once (it is kept for the agent instead). Deciders must name an action."""
    requests: list[dict[str, Any]] = [r for r in raw["action_requests"] if isinstance(r, dict)]
    configs: list[dict[str, Any]] = [c for c in raw.get("review_configs", []) if isinstance(c, dict)]
    actions = [_action_checkpoint(interrupt_id, i, r, _config_for(i, r, requests, configs))
               for i, r in enumerate(requests)]
    common = set.intersection(*(set(a.allowed_decisions) for a in actions)) - {"edit", "respond"}
    offered = common or {kind for action in actions for kind in action.allowed_decisions} - {"respond"}
    names = ", ".join(a.proposed_action.name for a in actions if a.proposed_action)
    summary = [{"name": a.proposed_action.name, "args": a.proposed_action.args} for a in actions if a.proposed_action]
    return CheckpointV1(
        id=interrupt_id,
        title=f"Approve {len(actions)} actions?",
        description=_clip("\n\n".join(a.description for a in actions), MAX_LONG_TEXT),
        proposed_action=ProposedActionV1(name=_clip(names, MAX_SHORT_TEXT), args={"actions": summary}),
        allowed_decisions=[d for d in _ORDER if d in offered] or ["reject"],
        convention="hitl_middleware",
        raw_interrupt=raw,
        actions=actions,
    )


HitlDecision = Callable[[DecisionV1, str, dict[str, Any]], dict[str, Any]]


def per_action_resume(checkpoint: CheckpointV1, fallback: DecisionV1,
                      hitl_decision: HitlDecision) -> dict[str, list[dict[str, Any]]]:
    """`{"decisions": [...]}` in action order: each action's own decision, or, for one left undecided (an expiry),
    `fallback` in the nearest kind that action allows. `hitl_decision(decision, name, args)` is the adapter's
    mapping of one decision to the middleware's form."""
    decisions = []
    for action in checkpoint.actions:
        decision = action.decision or _fallback_for(action, fallback)
        name = action.proposed_action.name if action.proposed_action else ""
        args = dict(action.proposed_action.args) if action.proposed_action else {}
        decisions.append(hitl_decision(decision, name, args))
    return {"decisions": decisions}


def group_checkpoint(questions: list[CheckpointV1]) -> CheckpointV1:
    """One checkpoint for the interrupts pending at once (`questions`, each built from its interrupt and carrying
    the interrupt's id), or the first question itself when there is one, more than MAX_ACTIONS, or one that has
    actions of its own."""
    first = questions[0]
    if len(questions) == 1 or len(questions) > MAX_ACTIONS or any(q.actions for q in questions):
        return first
    count = len(questions)
    entries = [
        q.model_copy(update={"id": action_ref(first.id, i), "title": _clip(f"Question {i + 1} of {count}: {q.title}",
                                                                            MAX_SHORT_TEXT)})
        for i, q in enumerate(questions)
    ]
    common = set.intersection(*(set(q.allowed_decisions) for q in questions)) - {"edit", "respond"}
    return CheckpointV1(
        id=first.id,
        title=f"{count} questions are waiting",
        description=_clip("\n".join(entry.title for entry in entries), MAX_LONG_TEXT),
        allowed_decisions=[d for d in _ORDER if d in common] or ["reject"],
        actions=entries,
        interrupt_ids=[q.id for q in questions],
    )


AnswerOf = Callable[[str, CheckpointV1, DecisionV1], Any]
"""The adapter's resume value for one question: (interrupt id, question, decision) -> value."""


def group_resume(checkpoint: CheckpointV1, fallback: DecisionV1, answer: AnswerOf) -> dict[str, Any]:
    """`{interrupt id: answer}` for every question of a group: its own decision, or `fallback` (an expiry) in the
    nearest kind the question allows."""
    return {
        interrupt_id: answer(interrupt_id, question, question.decision or _fallback_for(question, fallback))
        for interrupt_id, question in zip(checkpoint.interrupt_ids, checkpoint.actions, strict=False)
    }


def _config_for(index: int, request: dict[str, Any], requests: list[dict[str, Any]],
                configs: list[dict[str, Any]]) -> dict[str, Any]:
    """The action's review config: by position when there is one per action (as the middleware writes them),
    else by action name."""
    if len(configs) == len(requests):
        return configs[index]
    return next((c for c in configs if c.get("action_name") == request.get("name")), {})


def _action_checkpoint(interrupt_id: str, index: int, request: dict[str, Any],
                       config: dict[str, Any]) -> CheckpointV1:
    name = str(request.get("name", ""))
    allowed = {_FROM_HITL[d] for d in config.get("allowed_decisions", []) if d in _FROM_HITL}
    if not allowed:
        raise ValueError(f"HITLRequest allows no decision for action {index + 1} ({name})")
    args = dict(request.get("args") or {})
    description = str(request.get("description") or f"{name}: {json.dumps(args, default=str, sort_keys=True)}")
    schema = config.get("args_schema")
    keep_schema = "edit" in allowed and isinstance(schema, dict) and schema not in ({}, {"type": "object"})
    return CheckpointV1(
        id=action_ref(interrupt_id, index),
        title=_clip(f"Approve {name}?", MAX_SHORT_TEXT),
        description=_clip(description, MAX_LONG_TEXT),
        proposed_action=ProposedActionV1(name=_clip(name, MAX_SHORT_TEXT), args=args),
        allowed_decisions=[d for d in _ORDER if d in allowed],
        convention="hitl_middleware",
        **({"args_schema": schema} if keep_schema else {}),
    )


def _fallback_for(action: CheckpointV1, decision: DecisionV1) -> DecisionV1:
    made_up = decision.by == EXPIRY_DECIDER and decision.decision not in _SAFEST
    if decision.decision in action.allowed_decisions and not made_up:
        return decision
    kind = next((k for k in _SAFEST if k in action.allowed_decisions), None)
    if kind is None:
        name = action.proposed_action.name if action.proposed_action else action.title
        raise NoSafeDefault(f"Nobody decided '{name}' in time, and it allows no safe default (only "
                            f"{', '.join(action.allowed_decisions)}): an expiry never approves.")
    return decision.model_copy(update={"decision": kind, "edited_args": None})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
