"""What a Slack body must look like before bolt parses it: valid UTF-8, within its kind's size bound, bounded in
nesting depth, a JSON object wherever Slack sends JSON, and holding the fields bolt indexes into before any listener
runs. Pure functions, shared by the HTTP guard and the Socket Mode client, so a body Slack would never send is refused
with a reason that is safe to log instead of raising somewhere inside bolt."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from contracts import MAX_REQUEST_TEXT

try:  # yarl >= 1.25, which aiohttp 3.14 requires and parses its own forms with: parse_qsl's result, 30x faster
    from yarl import query_to_pairs
except ImportError:  # pragma: no cover - an older aiohttp's yarl
    def query_to_pairs(query_string: str, *, max_fields: int | None = None,
                       encoding: str = "utf-8") -> list[tuple[str, str]]:
        return parse_qsl(query_string, keep_blank_values=True, max_num_fields=max_fields, encoding=encoding)

__all__ = [
    "FORM",
    "JSON",
    "MAX_BODY_BYTES",
    "MAX_COMMAND_BYTES",
    "MAX_DEPTH",
    "MAX_EVENT_BYTES",
    "MAX_INTERACTION_BYTES",
    "BodyTooLarge",
    "MalformedBody",
    "check_shape",
    "decode",
    "media_type",
    "read_body",
    "read_json_object",
    "size_bound",
    "too_deep",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MAX_COMMAND_BYTES = 12 * MAX_REQUEST_TEXT + 4096
"""A slash command whose text is the longest request Baton runs, every character a 4-byte one form-encoded as 12
bytes, plus Slack's other fields (under 1 KB). Longer text is answered "could not read" by the listener, which only a
body read this far can tell the person; an English request that long is about 10 KB."""
MAX_INTERACTION_BYTES = 256 << 10
"""A click carries the message or view it sits in, a submission its view: always Baton's own. This holds even one at
Slack's bounds (50 blocks of 3,000 characters) in plain text; Baton's real ones are a tenth of that (a final message:
summary 2,800, error 2,000, five artifacts of 1,500 characters)."""
MAX_EVENT_BYTES = 1 << 20
"""Slack truncates a message at 40,000 characters and an event carries it as text and again as rich_text blocks; a
`message_changed` event carries two (message and previous_message). A refused event is redelivered and counts
against the app's delivery failure rate, so this bound stays generous: checking JSON costs ~10 ms a megabyte."""
MAX_BODY_BYTES = max(MAX_COMMAND_BYTES, MAX_INTERACTION_BYTES, MAX_EVENT_BYTES)
"""The bound before a body's kind is known: aiohttp's request limit, and a Socket Mode message's."""
MAX_DEPTH = 32
"""Slack's deepest payloads (rich text inside a view's blocks) stay near 12 levels; past this bound a body is junk,
and it stays far from the interpreter's recursion limit in json and in anything that walks the body later."""
MAX_FORM_FIELDS = 100
"""A slash command has about fifteen fields, an interaction one."""
_INTERACTION_PREFIX = "payload="
"""Slack sends an interaction as this one form field; any other form is a slash command or junk."""

_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class MalformedBody(ValueError):
    """A body Slack would never send. `reason` never quotes the body, so it can go to the log as is."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BodyTooLarge(MalformedBody):
    """A body over its kind's size bound (413)."""

    status = 413


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def size_bound(content_type: str | None, text: str = "") -> int:
    """The most bytes a body may have: an event's, or a form's once its start tells an interaction from a command
    (without `text`, the larger of the two, for a bound before the body is read)."""
    kind = media_type(content_type)
    if kind != FORM:
        return MAX_EVENT_BYTES if kind == JSON else MAX_BODY_BYTES
    if not text:
        return max(MAX_COMMAND_BYTES, MAX_INTERACTION_BYTES)
    return MAX_INTERACTION_BYTES if text.startswith(_INTERACTION_PREFIX) else MAX_COMMAND_BYTES


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether the brackets of a JSON text nest past `limit`, found without parsing (so without recursion).

    Strings are cut out with C-speed string operations: escaped backslashes and quotes dropped, then every other
    piece between quotes. That is exact for text json accepts; in other text an unpaired quote can hide brackets,
    which json then refuses anyway (a caller parses too, catching RecursionError). A run of `limit + 1` opening
    brackets (the usual deep junk) is found in one regex scan; otherwise each pass deletes the innermost `[]` and
    `{}` pairs with string replaces. A pass removes one or two levels, so any text nesting to `limit` passes and
    any text nesting past `2 * limit` is refused. Brackets that never pair up are refused too. Only bodies whose
    signature checked out get here, so the pathological inputs for the passes (a megabyte of depth-31 combs) come
    from Slack alone, which never sends them. A megabyte takes 1-7 ms (a regex over the strings took 5-15).
    """
    unescaped = text.replace("\\\\", "").replace('\\"', "") if "\\" in text else text
    brackets = _NOT_BRACKET.sub("", "".join(unescaped.split('"')[::2]))
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
        raise BodyTooLarge(f"{what} over {MAX_BODY_BYTES} bytes")
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
        raise BodyTooLarge(f"body over {MAX_BODY_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody("body is not UTF-8") from None


def read_body(text: str, content_type: str | None) -> dict[str, Any]:
    """What an HTTP body from Slack holds, or MalformedBody (BodyTooLarge past its kind's bound).

    Events API bodies are a JSON object with a `type`; slash commands are a form with a `command`; interactions are
    a form whose single `payload` field is a JSON object with a `type`. Anything else is not from Slack. The bound is
    on characters, which for the ASCII Slack's forms are in are bytes.
    """
    kind = media_type(content_type)
    if kind not in (JSON, FORM):
        raise MalformedBody(f"unexpected content type {kind[:40]!r}")
    bound = size_bound(kind, text)
    if len(text) > bound:
        what = "event" if kind == JSON else "interaction" if bound == MAX_INTERACTION_BYTES else "slash command"
        raise BodyTooLarge(f"{what} body over {bound} bytes")
    if kind == JSON:
        return check_shape(_typed(read_json_object(text), "body"))
    return _read_form(text)


def check_shape(body: dict[str, Any]) -> dict[str, Any]:
    """`body`, or MalformedBody when a field bolt indexes into before any listener runs is not what Slack sends.

    bolt reads `event.type` while authorizing an event, and each action's `action_id` while matching a click to a
    listener (a regex on a number raises); both happen before the error handler could answer, and Slack always sends
    them as an object with a string type and objects with a string action_id. The same rules hold over Socket Mode,
    whose payloads are these bodies.
    """
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise MalformedBody("event_callback whose event is not an object with a type")
    elif kind == "block_actions":
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions
                and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions)):
            raise MalformedBody("block_actions whose actions are not objects with an action_id")
    return body


def _read_form(text: str) -> dict[str, Any]:
    if text.startswith("{"):
        raise MalformedBody("form body holds JSON")  # bolt would parse it as JSON whatever its content type
    try:
        pairs = query_to_pairs(text, max_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise MalformedBody(f"form body with over {MAX_FORM_FIELDS} fields") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise MalformedBody("form body repeats a field")
    if "payload" in fields:
        if len(fields) != 1:
            raise MalformedBody("interaction form with fields besides payload")
        return check_shape(_typed(read_json_object(fields["payload"], "payload"), "payload"))
    if "command" not in fields and "ssl_check" not in fields:
        raise MalformedBody("form body is neither a slash command nor an interaction")
    return fields


def _typed(value: dict[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(value.get("type"), str):
        raise MalformedBody(f"{what} has no type")
    return value
