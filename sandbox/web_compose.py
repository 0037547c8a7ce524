"""What the sandbox page's composer turns typed text into: a slash command, or a message as Slack would store it.

Slack's client does this too: `/cmd args` never becomes a message, it is sent to the app that owns the command;
`@name` picked from the autocomplete becomes `<@U…>` in the stored text, and `<`, `>`, `&` are escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Composed", "SlashCommand", "TypedMessage", "compose"]

_COMMAND = re.compile(r"^(/[a-z0-9_-]+)(?:\s+(.*))?$", re.IGNORECASE | re.DOTALL)
_AT_NAME = re.compile(r"(?<![\w<@])@([a-z0-9][a-z0-9_-]*)", re.IGNORECASE)


@dataclass(frozen=True)
class SlashCommand:
    command: str
    text: str


@dataclass(frozen=True)
class TypedMessage:
    """Message text in Slack's stored form (escaped, mentions as `<@U…>`)."""

    text: str
    mentions_bot: bool


Composed = SlashCommand | TypedMessage


def compose(typed: str, names: Mapping[str, str], bot_user_id: str) -> Composed:
    """`names` maps lower-case handles (`baton`, `alice`) to user ids; unknown `@words` stay plain text."""
    stripped = typed.strip()
    match = _COMMAND.match(stripped)
    if match:
        return SlashCommand(match.group(1).lower(), (match.group(2) or "").strip())
    escaped = stripped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def mention(m: re.Match[str]) -> str:
        user_id = names.get(m.group(1).lower())
        return f"<@{user_id}>" if user_id else m.group(0)

    text = _AT_NAME.sub(mention, escaped)
    return TypedMessage(text, f"<@{bot_user_id}>" in text)
