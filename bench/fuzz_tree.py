"""Walking and editing a decoded Slack body for the fuzzer: every path in it, the ones a listener reads first, and
the hostile values put there."""

from __future__ import annotations

import random
from typing import Any

__all__ = [
    "HOSTILE_TEXT",
    "ID_KEYS",
    "Path",
    "delete_at",
    "exists",
    "get_at",
    "huge_string",
    "other_type",
    "paths",
    "pick_paths",
    "set_at",
    "show",
    "string_paths",
]

Path = tuple[str | int, ...]

IMPORTANT = frozenset({
    "type", "event", "user", "id", "channel", "ts", "actions", "action_id", "value", "view", "callback_id",
    "private_metadata", "team", "team_id", "container", "trigger_id", "command", "text", "challenge", "user_id",
    "channel_id", "response_url", "state", "values", "event_id", "message_ts", "thread_ts", "assistant_thread",
    "channel_type", "tab", "message", "blocks",
})
ID_KEYS = frozenset({
    "id", "user", "user_id", "channel", "channel_id", "team", "team_id", "ts", "thread_ts", "message_ts", "event_ts",
    "event_id", "action_id", "block_id", "callback_id", "private_metadata", "value", "trigger_id", "command", "text",
    "challenge", "api_app_id", "app_id", "type", "channel_type", "tab", "response_url",
})
HOSTILE_TEXT = (
    "\x00", "\u202e", "\u200b\u200b", "\ufeff", "\ud800", "\udfff", "💥" * 64, "e\u0301" * 40, "\n\r\t", "<!channel>",
    "<!here|here>", "<@U01ALICE>", "<https://evil.example|Approve>", "`", "\\", "'\"", "%00", "\x01\x02\x1f\x7f",
    "ℌ𝔢𝔩𝔩𝔬", "ｒｕｎ ｄｉａｇｎｏｓｔｉｃ", "${jndi:ldap://x}", "../../../../etc/passwd", "\u0085\u2028\u2029",
    "\x1b[31m",
)
_OTHER_VALUES: tuple[Any, ...] = (0, 1, -1, 2**64, 1.5, 1e308, True, False, [], [1, "a"], {}, {"a": 1}, "", "0")


def paths(obj: Any, prefix: Path = ()) -> list[Path]:
    """Every path below the root, parents before children."""
    found: list[Path] = []
    items: Any = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


def string_paths(obj: Any, keys: frozenset[str] = ID_KEYS) -> list[Path]:
    """Paths of the string values under one of `keys` (ids, texts, button values)."""
    return [p for p in paths(obj) if isinstance(get_at(obj, p), str) and isinstance(p[-1], str) and p[-1] in keys]


def pick_paths(obj: Any, rng: random.Random, count: int, keys: frozenset[str] = IMPORTANT) -> list[Path]:
    """`count` distinct paths, most of them to fields a listener reads first."""
    every = paths(obj)
    if not every:
        return []
    important = [p for p in every if isinstance(p[-1], str) and p[-1] in keys]
    chosen: list[Path] = []
    for _ in range(count):
        pool = important if important and rng.random() < 0.7 else every
        chosen.append(rng.choice(pool))
    return list(dict.fromkeys(chosen))


def get_at(obj: Any, path: Path) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def exists(obj: Any, path: Path) -> bool:
    try:
        get_at(obj, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def set_at(obj: Any, path: Path, value: Any) -> bool:
    if not path or not exists(obj, path[:-1]):
        return False
    parent, key = get_at(obj, path[:-1]), path[-1]
    if isinstance(parent, dict):
        parent[key] = value
        return True
    if isinstance(parent, list) and isinstance(key, int) and key < len(parent):
        parent[key] = value
        return True
    return False


def delete_at(obj: Any, path: Path) -> bool:
    if not exists(obj, path):
        return False
    parent = get_at(obj, path[:-1])
    del parent[path[-1]]
    return True


def other_type(value: Any, rng: random.Random) -> Any:
    """A value of another JSON type than `value`."""
    candidates = [v for v in _OTHER_VALUES if type(v) is not type(value)]
    return rng.choice(candidates)


def huge_string(rng: random.Random, size: int, ascii_only: bool = False) -> str:
    alphabets = ("A", "0123456789ABCDEF", "<@U01ALICE>", "a b\n") + (() if ascii_only else ("é", "\u202e", "💥"))
    alphabet = rng.choice(alphabets)
    return (alphabet * (size // len(alphabet) + 1))[:size]


def show(path: Path) -> str:
    return ".".join(str(p) for p in path) or "<root>"
