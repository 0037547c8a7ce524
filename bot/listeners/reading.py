"""Reading the fields a listener needs from a Slack payload, before it acks.

An exception in a bolt listener after `ack()` makes bolt's async runner drop the ack, and Slack's request then hangs
until its 3 s timeout. So listeners read what they need first, with these helpers (which never raise), and answer a
payload missing a field, or holding one of the wrong type or size, with "I could not read that" instead.
"""

from __future__ import annotations

import logging
import re

__all__ = ["COULD_NOT_READ", "dig", "slack_id", "text_field", "unreadable"]

log = logging.getLogger(__name__)
COULD_NOT_READ = "I could not read that request, so nothing was done. Please try again."
_SLACK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""Users, channels, teams: `U024BE7LH`, `C01GENERAL`, `T0SANDBOX`; 64 is the contracts' bound on a user id."""


def dig(value: object, *keys: str) -> object:
    """value[k1][k2]..., or None as soon as a level is not an object."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def slack_id(value: object) -> str | None:
    """A Slack id, or None for anything else (missing, empty, a number, 10,000 characters)."""
    return value if isinstance(value, str) and _SLACK_ID.fullmatch(value) else None


def text_field(value: object, max_chars: int) -> str | None:
    """A non-empty string of at most `max_chars`, or None."""
    return value if isinstance(value, str) and 0 < len(value) <= max_chars else None


def unreadable(what: str, why: str) -> None:
    """The one log line for a payload a listener cannot use: what it was and which field, never its content."""
    log.warning("Could not read a %s (%s); acked, nothing done", what, why)

