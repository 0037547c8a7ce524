"""Block Kit limits the fake Slack enforces, so a renderer that overflows fails in tests as it would in Slack.

Only the limits Baton can hit are checked; each problem is reported the way Slack does in
`response_metadata.messages` ("[ERROR] ... [json-pointer:/blocks/0/text/text]").
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

__all__ = ["MAX_MESSAGE_BLOCKS", "MAX_TEXT_CHARS", "MAX_VIEW_BLOCKS", "block_errors"]

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_CHARS = 40_000

KNOWN_BLOCKS = {
    "actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text", "section",
    "video", "table", "context_actions", "plan", "task_card",
}
_TASK_STATUSES = ("pending", "in_progress", "complete", "error")
"""A task card's `status` (docs.slack.dev/reference/block-kit/blocks/task-card-block)."""
_SECTION_TEXT = 3000
_SECTION_FIELDS = 10
_FIELD_TEXT = 2000
_HEADER_TEXT = 150
_BUTTON_TEXT = 75
_BUTTON_VALUE = 2000
_ACTION_ID = 255
_BLOCK_ID = 255
_ACTIONS_ELEMENTS = 25
_CONTEXT_ELEMENTS = 10
_CONTEXT_ACTIONS_ELEMENTS = 5
_MARKDOWN_TEXT = 12_000


def block_errors(blocks: Any, max_blocks: int = MAX_MESSAGE_BLOCKS, refused: Collection[str] = ()) -> list[str]:
    """Every limit `blocks` breaks, as Slack words them; empty when Slack would accept them. Block types in `refused`
    are unknown, as in a workspace or client without them."""
    if not isinstance(blocks, list):
        return ["[ERROR] must be an array [json-pointer:/blocks]"]
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]")
    for i, block in enumerate(blocks):
        if isinstance(block, dict) and block.get("type") in refused:
            errors.append(_err(f"unsupported type: {block['type']}", f"/blocks/{i}/type"))
        else:
            errors.extend(_block(block, f"/blocks/{i}"))
    return errors


def _err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) and isinstance(obj.get("text"), str) else 0


def _is_text(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("type") in ("plain_text", "mrkdwn") and isinstance(obj.get("text"), str)


def _block(block: Any, at: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [_err("must provide an object with a type", at)]
    kind = block["type"]
    if kind not in KNOWN_BLOCKS:
        return [_err(f"unsupported type: {kind}", f"{at}/type")]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > _BLOCK_ID):
        errors.append(_err(f"must be less than {_BLOCK_ID + 1} characters", f"{at}/block_id"))
    if kind == "section":
        errors.extend(_section(block, at))
    elif kind == "header":
        if not _is_text(block.get("text")) or block["text"]["type"] != "plain_text":
            errors.append(_err("must provide a plain_text object", f"{at}/text"))
        elif _text_len(block["text"]) > _HEADER_TEXT:
            errors.append(_err(f"must be less than {_HEADER_TEXT + 1} characters", f"{at}/text/text"))
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(_err("must provide a non-empty array", f"{at}/elements"))
        else:
            if len(elements) > _ACTIONS_ELEMENTS:
                errors.append(_err(f"no more than {_ACTIONS_ELEMENTS} items allowed", f"{at}/elements"))
            for j, element in enumerate(elements):
                errors.extend(_element(element, f"{at}/elements/{j}"))
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            errors.append(_err("must provide a non-empty array", f"{at}/elements"))
        elif len(elements) > _CONTEXT_ELEMENTS:
            errors.append(_err(f"no more than {_CONTEXT_ELEMENTS} items allowed", f"{at}/elements"))
    elif kind == "input":
        if not _is_text(block.get("label")):
            errors.append(_err("must provide a label", f"{at}/label"))
        errors.extend(_element(block.get("element"), f"{at}/element"))
    elif kind == "plan":
        errors.extend(_plan(block, at))
    elif kind == "task_card":
        errors.extend(_task_card(block, at))
    elif kind == "context_actions":
        errors.extend(_context_actions(block, at))
    elif kind == "markdown":
        if not isinstance(block.get("text"), str) or len(block["text"]) > _MARKDOWN_TEXT:
            errors.append(_err(f"must be a string of at most {_MARKDOWN_TEXT} characters", f"{at}/text"))
    return errors


def _section(block: dict[str, Any], at: str) -> list[str]:
    errors: list[str] = []
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        errors.append(_err("must provide either text or fields", at))
    if text is not None:
        if not _is_text(text):
            errors.append(_err("must provide a text object", f"{at}/text"))
        elif not text["text"]:
            errors.append(_err("must be more than 0 characters", f"{at}/text/text"))
        elif _text_len(text) > _SECTION_TEXT:
            errors.append(_err(f"must be less than {_SECTION_TEXT + 1} characters", f"{at}/text/text"))
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > _SECTION_FIELDS:
            errors.append(_err(f"no more than {_SECTION_FIELDS} items allowed", f"{at}/fields"))
        else:
            for j, f in enumerate(fields):
                if not _is_text(f) or _text_len(f) > _FIELD_TEXT:
                    errors.append(_err(f"must be less than {_FIELD_TEXT + 1} characters", f"{at}/fields/{j}/text"))
    if "accessory" in block:
        errors.extend(_element(block["accessory"], f"{at}/accessory"))
    return errors


def _plan(block: dict[str, Any], at: str) -> list[str]:
    """docs.slack.dev/reference/block-kit/blocks/plan-block: a plain-text `title` (required), `tasks` task cards."""
    errors: list[str] = []
    if not isinstance(block.get("title"), str) or not block["title"]:
        errors.append(_err("must provide a title", f"{at}/title"))
    tasks = block.get("tasks", [])
    if not isinstance(tasks, list):
        return [*errors, _err("must be an array", f"{at}/tasks")]
    for j, task in enumerate(tasks):
        if not isinstance(task, dict) or task.get("type") != "task_card":
            errors.append(_err("must be a task_card", f"{at}/tasks/{j}"))
        else:
            errors.extend(_task_card(task, f"{at}/tasks/{j}"))
    return errors


def _task_card(block: dict[str, Any], at: str) -> list[str]:
    """docs.slack.dev/reference/block-kit/blocks/task-card-block: `task_id` and a plain-text `title` required;
    `status` one of four; `details` and `output` a rich_text each; `sources` url elements."""
    errors: list[str] = []
    for key in ("task_id", "title"):
        if not isinstance(block.get(key), str) or not block[key]:
            errors.append(_err(f"must provide a {key}", f"{at}/{key}"))
    if block.get("status", "pending") not in _TASK_STATUSES:
        errors.append(_err(f"must be one of {', '.join(_TASK_STATUSES)}", f"{at}/status"))
    for key in ("details", "output"):
        value = block.get(key)
        if value is not None and (not isinstance(value, dict) or value.get("type") != "rich_text"
                                  or not isinstance(value.get("elements"), list)):
            errors.append(_err("must be a rich_text object", f"{at}/{key}"))
    sources = block.get("sources")
    if sources is not None and (not isinstance(sources, list) or any(
            not isinstance(s, dict) or s.get("type") != "url" or not s.get("url") or not s.get("text")
            for s in sources)):
        errors.append(_err("must be an array of url source elements", f"{at}/sources"))
    return errors


def _context_actions(block: dict[str, Any], at: str) -> list[str]:
    """docs.slack.dev/reference/block-kit/blocks/context-actions-block: 1 to 5 elements, feedback_buttons or
    icon_button; a feedback_buttons element's positive and negative buttons each need a plain_text `text` (75) and a
    `value` (2,000), and may have an `accessibility_label` (75)."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [_err("must provide a non-empty array", f"{at}/elements")]
    errors: list[str] = []
    if len(elements) > _CONTEXT_ACTIONS_ELEMENTS:
        errors.append(_err(f"no more than {_CONTEXT_ACTIONS_ELEMENTS} items allowed", f"{at}/elements"))
    for j, element in enumerate(elements):
        where = f"{at}/elements/{j}"
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in ("feedback_buttons", "icon_button"):
            errors.append(_err("must be a feedback_buttons or icon_button element", where))
            continue
        errors.extend(_element(element, where))
        if kind == "feedback_buttons":
            for side in ("positive_button", "negative_button"):
                errors.extend(_feedback_button(element.get(side), f"{where}/{side}"))
    return errors


def _feedback_button(button: Any, at: str) -> list[str]:
    if not isinstance(button, dict):
        return [_err("must provide an object", at)]
    errors: list[str] = []
    if not _is_text(button.get("text")) or button["text"]["type"] != "plain_text":
        errors.append(_err("must provide a plain_text object", f"{at}/text"))
    elif _text_len(button["text"]) > _BUTTON_TEXT:
        errors.append(_err(f"must be less than {_BUTTON_TEXT + 1} characters", f"{at}/text/text"))
    value = button.get("value")
    if not isinstance(value, str) or not value or len(value) > _BUTTON_VALUE:
        errors.append(_err(f"must be a string of 1 to {_BUTTON_VALUE} characters", f"{at}/value"))
    label = button.get("accessibility_label")
    if label is not None and (not isinstance(label, str) or len(label) > _BUTTON_TEXT):
        errors.append(_err(f"must be less than {_BUTTON_TEXT + 1} characters", f"{at}/accessibility_label"))
    return errors


def _element(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [_err("must provide an object with a type", at)]
    errors: list[str] = []
    action_id = element.get("action_id")
    if action_id is not None and (not isinstance(action_id, str) or len(action_id) > _ACTION_ID):
        errors.append(_err(f"must be less than {_ACTION_ID + 1} characters", f"{at}/action_id"))
    if element["type"] == "button":
        if not _is_text(element.get("text")) or element["text"]["type"] != "plain_text":
            errors.append(_err("must provide a plain_text object", f"{at}/text"))
        elif _text_len(element["text"]) > _BUTTON_TEXT:
            errors.append(_err(f"must be less than {_BUTTON_TEXT + 1} characters", f"{at}/text/text"))
        value = element.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > _BUTTON_VALUE):
            errors.append(_err(f"must be less than {_BUTTON_VALUE + 1} characters", f"{at}/value"))
        if element.get("style") not in (None, "primary", "danger"):
            errors.append(_err("must be one of primary, danger", f"{at}/style"))
    return errors
