"""What a Slack body must look like before bolt parses it: valid UTF-8, bounded in size and nesting depth, and a JSON
object wherever Slack sends JSON. Pure functions, shared by the HTTP guard and the Socket Mode client, so a body Slack
would never send is refused with a reason that is safe to log instead of raising somewhere inside bolt."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "FORM",
    "JSON",
    "MAX_BODY_BYTES",
    "MAX_DEPTH",
    "MalformedBody",
    "decode",
    "read_body",
    "read_json_object",
    "too_deep",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_BODY_BYTES = 1 << 20
"""aiohttp's default request limit; Slack's largest bodies (a modal's whole view) are far below it."""
MAX_DEPTH = 32
"""Slack's deepest payloads (rich text inside a view's blocks) stay near 12 levels; past this bound a body is junk,
and it stays far from the interpreter's recursion limit in json and in anything that walks the body later."""
MAX_FORM_FIELDS = 100
"""A slash command has about fifteen fields, an interaction one."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class MalformedBody(ValueError):
    """A body Slack would never send. `reason` never quotes the body, so it can go to the log as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether the brackets of a JSON text nest past `limit`, found without parsing (so without recursion).

    Strings are blanked out first. A run of `limit + 1` opening brackets (the usual deep junk) is found in one regex
    scan; otherwise each pass deletes the innermost `[]` and `{}` pairs with C-speed string replaces. A pass removes
    one or two levels, so any text nesting to `limit` passes and any text nesting past `2 * limit` is refused.
    Brackets that never pair up are refused too (json would refuse them anyway). Only bodies whose signature
    checked out get here, so the pathological inputs for the passes (a megabyte of depth-31 combs) come from Slack
    alone, which never sends them.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if re.search(rf"[\[{{]{{{limit + 1}}}", brackets):  # a run of openers: the usual junk, found in one scan
        return True
    for _ in range(limit):
        if not brackets:
            return False
        shorter = brackets.replace("[]", "").replace("{}", "")
        if len(shorter) == len(brackets):
            return True
        brackets = shorter
    return bool(brackets)


def read_json_object(text: str, what: str = "body") -> dict[str, Any]:
    """The JSON object in `text`, or MalformedBody: not JSON, not an object, too large or too deep."""
    if len(text) > MAX_BODY_BYTES:
        raise MalformedBody(f"{what} over {MAX_BODY_BYTES} bytes")
    if too_deep(text):
        raise MalformedBody(f"{what} nested past {MAX_DEPTH} levels")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError, and int() refusing a 5,000-digit number
        raise MalformedBody(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedBody(f"{what} is JSON but not an object ({type(value).__name__})")
    return value


def decode(raw: bytes) -> str:
    """The text of a body, or MalformedBody: Slack sends UTF-8, and its signature is computed over that text."""
    if len(raw) > MAX_BODY_BYTES:
        raise MalformedBody(f"body over {MAX_BODY_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("body is not UTF-8") from None


def read_body(text: str, content_type: str | None) -> dict[str, Any]:
    """What an HTTP body from Slack holds, or MalformedBody.

    Events API bodies are a JSON object with a `type`; slash commands are a form with a `command`; interactions are
    a form whose single `payload` field is a JSON object with a `type`. Anything else is not from Slack.
    """
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind == JSON:
        return _typed(read_json_object(text), "body")
    if kind == FORM:
        return _read_form(text)
    raise MalformedBody(f"unexpected content type {kind[:40]!r}")


def _read_form(text: str) -> dict[str, Any]:
    if text.startswith("{"):
        raise MalformedBody("form body holds JSON")  # bolt would parse it as JSON whatever its content type
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise MalformedBody(f"form body with over {MAX_FORM_FIELDS} fields") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise MalformedBody("form body repeats a field")
    if "payload" in fields:
        if len(fields) != 1:
            raise MalformedBody("interaction form with fields besides payload")
        return _typed(read_json_object(fields["payload"], "payload"), "payload")
    if "command" not in fields and "ssl_check" not in fields:
        raise MalformedBody("form body is neither a slash command nor an interaction")
    return fields


def _typed(value: dict[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(value.get("type"), str):
        raise MalformedBody(f"{what} has no type")
    return value
