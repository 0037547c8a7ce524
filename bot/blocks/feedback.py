"""Slack's feedback buttons (thumbs up, thumbs down) for a task's final message, and the value each button carries.

Slack's shape (docs.slack.dev/reference/block-kit/blocks/context-actions-block, .../feedback-buttons-element): a
`context_actions` block holding one `feedback_buttons` element, whose positive and negative buttons each carry a
value of at most 2,000 characters. A click arrives as `block_actions` whose action has the element's action id, type
`feedback_buttons` and the clicked button's value: here the task and the rating, so the listener needs nothing else.
"""

from __future__ import annotations

import json
from typing import Any, get_args

from bot.blocks.ids import ACTION_FEEDBACK, TASK_ID
from contracts.feedback import FeedbackRating

__all__ = ["decode_feedback", "feedback_block", "feedback_value"]

_MAX_VALUE = 2000
_LABELS: dict[FeedbackRating, tuple[str, str]] = {
    "positive": ("\N{THUMBS UP SIGN}", "This answer was useful"),
    "negative": ("\N{THUMBS DOWN SIGN}", "This answer was not useful"),
}


def feedback_value(task_id: str, rating: FeedbackRating) -> str:
    return json.dumps({"t": task_id, "r": rating}, separators=(",", ":"))


def decode_feedback(value: object) -> tuple[str, FeedbackRating]:
    """(task id, rating) of a value `feedback_value` wrote; ValueError for anything else (forged or mistyped)."""
    if not isinstance(value, str) or len(value) > _MAX_VALUE:
        raise ValueError("not a Baton feedback value")
    try:
        data = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise ValueError("not a Baton feedback value") from exc
    if not isinstance(data, dict) or set(data) != {"t", "r"}:
        raise ValueError("not a Baton feedback value")
    task_id, rating = data["t"], data["r"]
    if not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id) or rating not in get_args(FeedbackRating):
        raise ValueError("not a Baton feedback value")
    return task_id, rating


def feedback_block(task_id: str) -> dict[str, Any]:
    """The buttons under a final message. No block_id: Slack makes one, and a final message edited in place gets
    a fresh one each time, as Slack asks of an updated message."""

    def button(rating: FeedbackRating) -> dict[str, Any]:
        text, label = _LABELS[rating]
        return {"text": {"type": "plain_text", "text": text, "emoji": True}, "accessibility_label": label,
                "value": feedback_value(task_id, rating)}

    return {
        "type": "context_actions",
        "elements": [{
            "type": "feedback_buttons",
            "action_id": ACTION_FEEDBACK,
            "positive_button": button("positive"),
            "negative_button": button("negative"),
        }],
    }
