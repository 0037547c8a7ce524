"""Modals for the decisions that need more than a click: Edit (arguments as JSON), Reject (a reason), Respond
(free text); and the parsing of what comes back, validated before anything reaches the workflow (for an edit: JSON,
the size bound and the tool's argument schema when the checkpoint carries one, see baton.edits)."""

from __future__ import annotations

import json
from typing import Any

from baton.edits import edit_problem
from bot.blocks.checkpoint import format_args
from bot.blocks.common import section
from bot.blocks.ids import (
    INPUT_ACTION,
    INPUT_BLOCK,
    JSON_ACTION,
    JSON_BLOCK,
    VIEW_EDIT,
    VIEW_REJECT,
    VIEW_RESPOND,
    ButtonRef,
)
from bot.blocks.text import MAX_INPUT_CHARS, MAX_PRIVATE_METADATA, mrkdwn, plain, truncate
from bot.wellformed import too_deep
from contracts import CheckpointV1

__all__ = ["MAX_ARGS_DEPTH", "edit_modal", "parse_edit", "reject_modal", "respond_modal", "submitted_json",
           "submitted_text", "unreadable_modal"]

_TITLE = 24  # Slack's limit on a modal title
MAX_ARGS_DEPTH = 16
"""Edited arguments go into a Temporal payload and the agent's tool call: a person never needs them deeper."""


def edit_modal(ref: ButtonRef, checkpoint: CheckpointV1) -> dict[str, Any]:
    """The proposed arguments, pre-filled as JSON. Arguments too large for a text input (3,000 characters) cannot
    be edited faithfully in Slack, so the modal says so rather than offering a truncated copy to approve."""
    args = checkpoint.proposed_action.args if checkpoint.proposed_action else {}
    initial = format_args(args)
    if len(initial) > MAX_INPUT_CHARS:
        return _modal(VIEW_EDIT, ref, "Edit arguments", [_intro(checkpoint), section(
            "These arguments are too large to edit in Slack. Approve or reject them, or edit them with the `baton` CLI."
        )], submit=None)
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": INPUT_ACTION,
        "multiline": True,
        "max_length": MAX_INPUT_CHARS,
        "initial_value": initial,
    }
    hint = "Approving sends these arguments instead."
    if checkpoint.args_schema is not None:
        hint += " They are checked against the tool's argument schema" + _fields(checkpoint.args_schema) + "."
    return _modal(VIEW_EDIT, ref, "Edit arguments", [
        _intro(checkpoint),
        _input("Arguments (a JSON object)", element, hint=truncate(hint, 1900)),
    ], submit="Approve edited")


def reject_modal(ref: ButtonRef, checkpoint: CheckpointV1) -> dict[str, Any]:
    element = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True, "max_length": 2000}
    return _modal(VIEW_REJECT, ref, "Reject", [
        _intro(checkpoint),
        _input("Reason", element, hint="The agent sees this reason."),
    ], submit="Reject")


def respond_modal(ref: ButtonRef, checkpoint: CheckpointV1) -> dict[str, Any]:
    """A plain question (the agent's own `interrupt()`) also offers to send the answer as JSON: the agent then gets
    the parsed value rather than the text."""
    element = {"type": "plain_text_input", "action_id": INPUT_ACTION, "multiline": True, "max_length": 2000}
    blocks = [_intro(checkpoint), _input("Your answer", element)]
    if checkpoint.convention == "plain":
        option = {"text": {"type": "plain_text", "text": "My answer is JSON"}, "value": "json",
                  "description": {"type": "plain_text", "text": "The agent gets its value instead of the text."}}
        blocks.append({"type": "input", "block_id": JSON_BLOCK, "optional": True,
                       "label": {"type": "plain_text", "text": "Format"},
                       "element": {"type": "checkboxes", "action_id": JSON_ACTION, "options": [option]}})
    return _modal(VIEW_RESPOND, ref, "Respond", blocks, submit="Send")


def submitted_json(view: object) -> bool:
    """Whether the person ticked "My answer is JSON" in the Respond modal (False for any other shape: this runs
    before the ack)."""
    value: object = view
    for key in ("state", "values", JSON_BLOCK, JSON_ACTION, "selected_options"):
        value = value.get(key) if isinstance(value, dict) else None
    return isinstance(value, list) and any(isinstance(o, dict) and o.get("value") == "json" for o in value)


def submitted_text(view: object) -> str:
    """The text a person typed into one of our modals ('' when they typed nothing, or when the submitted state is
    not shaped like Slack's: this runs before the ack, so it must not raise)."""
    value: object = view
    for key in ("state", "values", INPUT_BLOCK, INPUT_ACTION, "value"):
        value = value.get(key) if isinstance(value, dict) else None
    return value.strip() if isinstance(value, str) else ""


def parse_edit(text: str, checkpoint: CheckpointV1 | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """(arguments, None) for a JSON object that `checkpoint` accepts (its size bound and argument schema, when it
    is given), else (None, an error a person can act on, naming the field). Never raises: it runs before the
    submission's ack."""
    value, error = _parse_json_object(text)
    if value is None or checkpoint is None:
        return value, error
    problem = edit_problem(value, checkpoint)
    return (None, problem) if problem else (value, None)


def _parse_json_object(text: str) -> tuple[dict[str, Any] | None, str | None]:
    if not text:
        return None, "Enter the arguments as a JSON object, for example {\"host\": \"web-1\"}."
    if len(text) > MAX_INPUT_CHARS:
        return None, f"The arguments are over {MAX_INPUT_CHARS} characters; shorten them."
    too_nested = f"The arguments nest more than {MAX_ARGS_DEPTH} levels deep; flatten them."
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        return None, f"That is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
    except RecursionError:
        return None, too_nested
    except ValueError:  # NaN / Infinity, or a number too long for int()
        return None, "That is not valid JSON: NaN, Infinity and numbers over 4,300 digits are not JSON."
    if too_deep(text, MAX_ARGS_DEPTH):
        return None, too_nested
    if not isinstance(value, dict):
        return None, "The arguments must be a JSON object ({...}), not a list or a single value."
    return value, None


def unreadable_modal() -> dict[str, Any]:
    """Replaces a submitted modal that Baton cannot act on (a form it did not write, or a submission that does not
    say who sent it): the person learns that nothing was sent, rather than facing an error inside the modal."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Baton"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [section(
            "I could not read this form, so nothing was sent. Close it and use the buttons on the message again.")],
    }


def _fields(schema: dict[str, Any]) -> str:
    """' (service: string, replicas: integer)': the top-level fields a person can see at a glance, if any."""
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        return ""
    named = [f"{name}: {spec['type']}" if isinstance(spec, dict) and isinstance(spec.get("type"), str) else str(name)
             for name, spec in properties.items()]
    return f" ({', '.join(named)})"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _modal(callback_id: str, ref: ButtonRef, title: str, blocks: list[dict[str, Any]],
           submit: str | None) -> dict[str, Any]:
    metadata = ref.encode()
    if len(metadata) > MAX_PRIVATE_METADATA:
        raise ValueError("button reference too large for a modal's private_metadata")
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": plain(title, _TITLE)},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


def _intro(checkpoint: CheckpointV1) -> dict[str, Any]:
    return section(mrkdwn("*{}*", truncate(checkpoint.title, 200)))


def _input(label: str, element: dict[str, Any], hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": INPUT_BLOCK,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block
