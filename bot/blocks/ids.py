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
_DECIDE_PREFIX = "baton.decide."
ACTION_DECIDE_PATTERN = re.compile(r"^baton\.decide\.(accept|edit|reject|respond|ignore)$")

VIEW_EDIT = "baton.view.edit"
VIEW_REJECT = "baton.view.reject"
VIEW_RESPOND = "baton.view.respond"

INPUT_BLOCK = "baton_input"
INPUT_ACTION = "value"


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
    def decode(cls, value: str) -> ButtonRef:
        """Raises ValueError on anything that is not a value we wrote (a forged or truncated payload)."""
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError("not a Baton button value") from exc
        if not isinstance(data, dict) or not isinstance(data.get("t"), str):
            raise ValueError("not a Baton button value")
        return cls(task_id=data["t"], checkpoint_id=data.get("c"), channel_id=data.get("ch"),
                   message_ts=data.get("ts"))
