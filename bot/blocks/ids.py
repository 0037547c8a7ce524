"""Action ids, callback ids and the small JSON values carried by buttons and modals.

One place for the strings the builders write and the listeners match, so the two can never drift apart.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from contracts import DecisionKind

__all__ = [
    "ACTION_CANCEL",
    "ACTION_DECIDE_PATTERN",
    "ACTION_FEEDBACK",
    "ACTION_RETRY",
    "VIEW_EDIT",
    "VIEW_REJECT",
    "VIEW_RESPOND",
    "ButtonRef",
    "decide_action_id",
    "decision_from_action_id",
]

ACTION_CANCEL = "baton.cancel"
ACTION_RETRY = "baton.retry"
ACTION_FEEDBACK = "baton.feedback"
_DECIDE_PREFIX = "baton.decide."
ACTION_DECIDE_PATTERN = re.compile(r"^baton\.decide\.(accept|edit|reject|respond|ignore)$")

VIEW_EDIT = "baton.view.edit"
VIEW_REJECT = "baton.view.reject"
VIEW_RESPOND = "baton.view.respond"

INPUT_BLOCK = "baton_input"
INPUT_ACTION = "value"
JSON_BLOCK = "baton_json"
"""The Respond modal's "my answer is JSON" checkbox (a plain question: the agent then gets the parsed value)."""
JSON_ACTION = "is_json"

TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
"""A task id as the `/baton` grammar accepts one (use fullmatch): never empty, so never a Temporal call without one."""
_MAX_VALUE = 3000  # Slack's bound on private_metadata (a button value's is 2000)
_MAX_FIELD = 200


def decide_action_id(kind: DecisionKind) -> str:
    return _DECIDE_PREFIX + kind


def decision_from_action_id(action_id: str) -> DecisionKind | None:
    match = ACTION_DECIDE_PATTERN.match(action_id)
    return match.group(1) if match else None  # type: ignore[return-value]


@dataclass(frozen=True)
class ButtonRef:
    """What a button (or a modal's private_metadata) points at: a task, maybe a checkpoint, maybe a message."""

    task_id: str
    checkpoint_id: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None

    def encode(self) -> str:
        data = {"t": self.task_id, "c": self.checkpoint_id, "ch": self.channel_id, "ts": self.message_ts}
        return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def decode(cls, value: object) -> ButtonRef:
        """Raises ValueError on anything that is not a value we wrote (a forged, truncated or mistyped payload):
        it must name a well-formed task id, and every other field must be a short string or absent."""
        if not isinstance(value, str) or len(value) > _MAX_VALUE:
            raise ValueError("not a Baton button value")
        try:
            data = json.loads(value)
        except (ValueError, RecursionError) as exc:  # a 3,000-character value can nest deeper than json recurses
            raise ValueError("not a Baton button value") from exc
        if not isinstance(data, dict) or not isinstance(data.get("t"), str) or not TASK_ID.fullmatch(data["t"]):
            raise ValueError("not a Baton button value")
        fields = [data.get(key) for key in ("c", "ch", "ts")]
        if not all(f is None or (isinstance(f, str) and 0 < len(f) <= _MAX_FIELD) for f in fields):
            raise ValueError("not a Baton button value")
        return cls(data["t"], *fields)
