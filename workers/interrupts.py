"""The interrupt adapter: a LangGraph interrupt value becomes a `CheckpointV1` (what the agent asked; the workflow
adds who may decide, the quorum and the expiry), and a `DecisionV1` becomes the exact resume value the
interrupting code expects, so agents written for LangGraph's own human-in-the-loop conventions run unchanged
under Baton.

    convention        interrupt value                                    resume value
    hitl_middleware   HITLRequest {action_requests, review_configs}      {"decisions": [{"type": "approve"}, ...]}
                      (per_call) {"type": "tool_approval", name, args}   {"type": "approve"}  (one decision)
    agent_inbox       [HumanInterrupt {action_request, config, ...}]     [{"type": "accept", "args": None}]
    plain             "question" or any other dict                       as the spec declares (workers.plain_answers);
                                                                         undeclared: the answer as typed (text or JSON)

Decision names:  Baton  accept   edit   reject   respond     ignore
                 HITL   approve  edit   reject   respond     (reject)
                 Inbox  accept   edit   (ignore) response    ignore   (reject's text is dropped)
                 plain  declared approve / edit / reject / respond (reject's value for ignore); undeclared: respond

`resume_value` maps every decision kind to its nearest equivalent, so an expiry default (reject or ignore)
applies even where the checkpoint did not offer it; people are held to `allowed_decisions` by the workflow.

The tool's argument schema (JSON Schema), kept in the checkpoint when edit is allowed so people's edits are checked
before they are sent:

    hitl_middleware   per call: the edit branch of the interrupt's `response_schema` (edited_action.args)
                      batched:  review_configs[i].args_schema (declared by LangChain; the middleware leaves it unset)
    agent_inbox       action_request.args_schema (a Baton extension: the Inbox has no place for one)

An interrupt whose arguments, value or schema exceed `MAX_ARGS_BYTES` as JSON is refused (`CheckpointTooLarge`):
it would bloat every payload and history that carries the checkpoint.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from langgraph.types import Command
from pydantic_core import to_jsonable_python
from temporalio.exceptions import ApplicationError

from contracts import CheckpointV1, DecisionKind, DecisionV1, ProposedActionV1
from contracts.checkpoint import MAX_ARGS_BYTES, json_bytes, too_large
from contracts.common import MAX_LONG_TEXT, MAX_SHORT_TEXT
from contracts.names import CHECKPOINT_TOO_LARGE
from workers.actions import is_batched, per_action_checkpoint, per_action_resume
from workers.decision_schema import decision_types, edit_args_schema
from workers.plain_answers import UNDECLARED_NOTE, PlainAnswerRefused, PlainAnswers, parsed_json

__all__ = [
    "CheckpointTooLarge",
    "Convention",
    "checkpoint_from_interrupt",
    "detect_convention",
    "resume_command",
    "resume_value",
]

Convention = Literal["hitl_middleware", "agent_inbox", "plain"]

_ORDER: tuple[DecisionKind, ...] = ("accept", "edit", "respond", "reject", "ignore")
_FROM_HITL: dict[str, DecisionKind] = {"approve": "accept", "edit": "edit", "reject": "reject", "respond": "respond"}
_FROM_INBOX: dict[str, DecisionKind] = {
    "allow_accept": "accept",
    "allow_edit": "edit",
    "allow_respond": "respond",
    "allow_ignore": "ignore",
}
_PLAIN_TITLE_KEYS = ("question", "title", "instruction", "message", "task", "prompt")


class CheckpointTooLarge(ApplicationError):
    """The agent asked with more than a checkpoint may carry. Non-retryable: the same graph state interrupts with
    the same value on every attempt, and the task should fail at once with a message that says why."""

    def __init__(self, what: str, size: int) -> None:
        super().__init__(
            f"The agent's question is too large for a checkpoint ({too_large(what, size)}). Have the agent propose "
            "a reference to the data (a path, an id, a URL) instead of the data itself.",
            type=CHECKPOINT_TOO_LARGE,
            non_retryable=True,
        )


def detect_convention(value: Any) -> Convention:
    """Which convention an interrupt value follows (anything unrecognised is plain)."""
    if isinstance(value, dict):
        if "action_requests" in value and "review_configs" in value:
            return "hitl_middleware"
        if value.get("type") == "tool_approval" and "name" in value:
            return "hitl_middleware"
        if _is_human_interrupt(value):
            return "agent_inbox"
    if isinstance(value, list) and len(value) >= 1 and all(_is_human_interrupt(v) for v in value):
        return "agent_inbox"
    return "plain"


def checkpoint_from_interrupt(
    interrupt_id: str,
    value: Any,
    *,
    response_schema: Any = None,
    plain: PlainAnswers | None = None,
) -> CheckpointV1:
    """What the agent asked, as a checkpoint. Its id is the interrupt's id (stable across retries).

    Only the agent's side is filled in: who may decide, the quorum, the clock and the state are left at their
    contract defaults because the workflow stamps them when the checkpoint reaches it (an activity's clock and a
    copy of the policy taken here would only be overwritten). No convention read here names its own deciders.

    `response_schema` is the interrupt's schema when LangGraph surfaced one (per-call HITL): it narrows the allowed
    decisions and carries the tool's argument schema. `plain` is the spec's declaration for the node that asked,
    read only for a plain interrupt.

    Raises CheckpointTooLarge when the arguments, the interrupt value or the argument schema is over the bound.
    """
    convention = detect_convention(value)
    raw = to_jsonable_python(value, fallback=str)
    if convention == "hitl_middleware" and is_batched(raw):  # several actions: each decided on its own
        checkpoint = per_action_checkpoint(interrupt_id, raw)
        _refuse_oversized(checkpoint.proposed_action, raw, None)
        return checkpoint
    schema = to_jsonable_python(response_schema, fallback=str) if response_schema is not None else None
    if convention == "hitl_middleware":
        title, description, action, allowed = _hitl_view(raw, schema)
    elif convention == "agent_inbox":
        title, description, action, allowed = _inbox_view(raw)
    else:
        title, description, action, allowed = _plain_view(raw, plain)
    args_schema = _args_schema(convention, raw, schema, plain) if "edit" in allowed else None
    _refuse_oversized(action, raw, args_schema)
    return CheckpointV1(
        id=interrupt_id,
        title=_clip(title, MAX_SHORT_TEXT),
        description=_clip(description, MAX_LONG_TEXT),
        proposed_action=action,
        allowed_decisions=[d for d in _ORDER if d in allowed],
        convention=convention,
        raw_interrupt=raw,
        **({"args_schema": args_schema} if args_schema is not None else {}),
    )


def resume_value(checkpoint: CheckpointV1, decision: DecisionV1, plain: PlainAnswers | None = None) -> Any:
    """The value `interrupt()` returns in the agent once `decision` is applied to `checkpoint` (`plain`: the spec's
    declaration for the node that asked, if any). Raises PlainAnswerRefused when a decision cannot become the
    declared value (an edit the schema rejects, JSON that does not parse)."""
    raw = checkpoint.raw_interrupt
    if checkpoint.convention == "hitl_middleware":
        if isinstance(raw, dict) and raw.get("type") == "tool_approval":
            return _hitl_decision(decision, raw.get("name", ""), raw.get("args") or {})
        if checkpoint.actions:
            return per_action_resume(checkpoint, decision, _hitl_decision)
        actions = list(raw.get("action_requests", [])) if isinstance(raw, dict) else []
        return {"decisions": [_hitl_decision(decision, a.get("name", ""), a.get("args") or {}) for a in actions]}
    if checkpoint.convention == "agent_inbox":
        request = _first_inbox(raw)
        return [_inbox_response(decision, request)]
    return _plain_answer(checkpoint, decision, plain)


def resume_command(checkpoint: CheckpointV1, decision: DecisionV1, plain: PlainAnswers | None = None) -> Command[Any]:
    """`Command(resume=...)` keyed by the interrupt id, so it is unambiguous when several interrupts are pending."""
    return Command(resume={checkpoint.id: resume_value(checkpoint, decision, plain)})


# -- HumanInTheLoopMiddleware ----------------------------------------------------------------------------------


def _hitl_view(raw: dict[str, Any], response_schema: Any) -> tuple[str, str, ProposedActionV1 | None, set[str]]:
    if raw.get("type") == "tool_approval":
        name, args = str(raw.get("name", "")), dict(raw.get("args") or {})
        allowed: set[str] = {_FROM_HITL[t] for t in decision_types(response_schema) if t in _FROM_HITL}
        allowed = allowed or {"accept", "edit", "reject", "respond"}
        return f"Approve {name}?", str(raw.get("description") or ""), _action(name, args), allowed
    actions: list[dict[str, Any]] = list(raw.get("action_requests", []))
    configs: list[dict[str, Any]] = list(raw.get("review_configs", []))
    by_name = {c.get("action_name"): c for c in configs}
    common: set[str] | None = None
    for index, request in enumerate(actions):
        config = configs[index] if len(configs) == len(actions) else by_name.get(request.get("name"), {})
        kinds: set[str] = {_FROM_HITL[d] for d in config.get("allowed_decisions", []) if d in _FROM_HITL}
        common = kinds if common is None else common & kinds
    allowed = common or set()
    if len(actions) != 1:
        allowed.discard("edit")  # one edited_args cannot stand for several tool calls
    if not allowed:
        raise ValueError("HITLRequest allows no decision common to all its actions")
    descriptions = [str(a.get("description") or f"{a.get('name')}: {_compact(a.get('args'))}") for a in actions]
    if len(actions) == 1:
        name, args = str(actions[0].get("name", "")), dict(actions[0].get("args") or {})
        return f"Approve {name}?", descriptions[0], _action(name, args), allowed
    names = ", ".join(str(a.get("name", "")) for a in actions)
    summary = [{"name": a.get("name"), "args": a.get("args") or {}} for a in actions]
    proposed = ProposedActionV1(name=_clip(names, MAX_SHORT_TEXT), args={"actions": summary})
    return f"Approve {len(actions)} actions?", "\n\n".join(descriptions), proposed, allowed


def _hitl_decision(decision: DecisionV1, name: str, args: dict[str, Any]) -> dict[str, Any]:
    kind = decision.decision
    if kind == "accept":
        return {"type": "approve"}
    if kind == "edit":
        edited = decision.edited_args if decision.edited_args is not None else args
        return {"type": "edit", "edited_action": {"name": name, "args": dict(edited)}}
    if kind == "respond":
        return {"type": "respond", "message": decision.text or ""}
    reason = decision.text or ("No decision was made in time." if kind == "ignore" else None)
    return {"type": "reject", "message": reason} if reason else {"type": "reject"}


# -- Agent Inbox -----------------------------------------------------------------------------------------------


def _is_human_interrupt(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("action_request"), dict)
        and isinstance(value.get("config"), dict)
    )


def _first_inbox(raw: Any) -> dict[str, Any]:
    return dict(raw[0] if isinstance(raw, list) else raw)


def _inbox_view(raw: Any) -> tuple[str, str, ProposedActionV1 | None, set[str]]:
    request = _first_inbox(raw)
    action_request = request["action_request"]
    name, args = str(action_request.get("action", "")), dict(action_request.get("args") or {})
    allowed: set[str] = {kind for key, kind in _FROM_INBOX.items() if request["config"].get(key)}
    if not allowed:
        raise ValueError("HumanInterrupt config allows nothing (every allow_* flag is false)")
    return name, str(request.get("description") or ""), _action(name, args), allowed


def _inbox_response(decision: DecisionV1, request: dict[str, Any]) -> dict[str, Any]:
    kind = decision.decision
    action_request = request.get("action_request", {})
    if kind == "accept":
        return {"type": "accept", "args": None}
    if kind == "edit":
        edited = decision.edited_args if decision.edited_args is not None else action_request.get("args", {})
        return {"type": "edit", "args": {"action": action_request.get("action", ""), "args": dict(edited)}}
    if kind == "respond":
        return {"type": "response", "args": decision.text or ""}
    # Agent Inbox has no "reject"; "ignore" is its way to not go ahead (a reason would read as an instruction).
    return {"type": "ignore", "args": None}


# -- plain -----------------------------------------------------------------------------------------------------


def _plain_view(raw: Any, plain: PlainAnswers | None) -> tuple[str, str, ProposedActionV1 | None, set[str]]:
    """Offers what the spec declared for the node; undeclared, Respond alone, and the card says how it is passed."""
    if isinstance(raw, dict):
        title_key = next((k for k in _PLAIN_TITLE_KEYS if isinstance(raw.get(k), str)), None)
        title = _first_line(raw[title_key]) if title_key else "The agent needs your input"
        rest = {k: v for k, v in raw.items() if k != title_key}
        description = "\n".join(f"{k}: {v if isinstance(v, str) else _compact(v)}" for k, v in rest.items())
    else:
        question = raw if isinstance(raw, str) else _compact(raw)
        title, description = _first_line(question) or "The agent needs your input", question
    if plain is None:
        return title, "\n\n".join(part for part in (description, UNDECLARED_NOTE) if part), None, {"respond"}
    action = None
    if plain.edit_schema is not None:
        action = _action("answer", plain.edit_start(raw))
    return title, description, action, plain.offered()


def _plain_answer(checkpoint: CheckpointV1, decision: DecisionV1, plain: PlainAnswers | None) -> Any:
    kind, raw = decision.decision, checkpoint.raw_interrupt
    if plain is not None:
        if kind == "accept" and "accept" in plain.offered():
            return plain.approved(raw)
        if kind in ("reject", "ignore") and "reject" in plain.offered():
            return plain.rejected(raw)
        if kind == "edit" and "edit" in plain.offered():
            return plain.edited(decision.edited_args if decision.edited_args is not None else {})
        if kind == "respond" and "respond" in plain.offered():
            return plain.responded(decision.text or "", bool(decision.text_is_json))
        raise PlainAnswerRefused(f"The agent declares no answer for '{kind}' at this question.")
    if kind == "respond" or "accept" not in checkpoint.allowed_decisions:
        return parsed_json(decision.text or "") if decision.text_is_json else decision.text or ""
    # A checkpoint made before declarations offered accept and reject on every plain interrupt: a decision it
    # offered resumes as it was promised then.
    return kind == "accept"


# -- argument schema and size ----------------------------------------------------------------------------------


def _args_schema(
    convention: Convention, raw: Any, response_schema: Any, plain: PlainAnswers | None = None
) -> dict[str, Any] | None:
    """The tool's argument schema where the interrupt carries one (see the table above); None when it says
    nothing more than "an object"."""
    found: Any = None
    if convention == "hitl_middleware" and isinstance(raw, dict):
        if raw.get("type") == "tool_approval":
            found = edit_args_schema(response_schema)
        else:
            configs = [c for c in raw.get("review_configs", []) if isinstance(c, dict)]
            actions = [a for a in raw.get("action_requests", []) if isinstance(a, dict)]
            if len(actions) == 1:
                by_name = {c.get("action_name"): c for c in configs}
                config = configs[0] if len(configs) == 1 else by_name.get(actions[0].get("name"), {})
                found = config.get("args_schema")
    elif convention == "agent_inbox":
        found = _first_inbox(raw)["action_request"].get("args_schema")
    elif plain is not None:
        found = plain.json_schema()
    if not isinstance(found, dict) or found in ({}, {"type": "object"}):
        return None
    return found


def _refuse_oversized(action: ProposedActionV1 | None, raw: Any, args_schema: dict[str, Any] | None) -> None:
    """The arguments first: they are what a person would be asked to review, and the interrupt value holds them too."""
    for what, value in (("arguments", action.args if action else None), ("interrupt value", raw),
                        ("argument schema", args_schema)):
        if value is not None and (size := json_bytes(value)) > MAX_ARGS_BYTES:
            raise CheckpointTooLarge(what, size)


# -- shared ----------------------------------------------------------------------------------------------------


def _action(name: str, args: dict[str, Any]) -> ProposedActionV1:
    return ProposedActionV1(name=_clip(name, MAX_SHORT_TEXT), args=args)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
