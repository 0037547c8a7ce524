"""Field-level mutation categories: well-formed, correctly signed bodies whose fields are missing, null, of the
wrong type, huge, full of control characters, from another workspace, or pointing at actions, buttons and tasks
Baton never made; and Slack's retried deliveries."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from bench.fuzz_kinds import Kind, Target, encode
from bench.fuzz_tree import (
    HOSTILE_TEXT,
    Path,
    delete_at,
    exists,
    get_at,
    huge_string,
    other_type,
    paths,
    pick_paths,
    set_at,
    show,
    string_paths,
)
from bench.fuzz_wire import Mutation
from bot.blocks.ids import ButtonRef

__all__ = ["FIELD_CATEGORIES"]

Body = dict[str, Any]


def _one(kind: Kind, body: Body, label: str, *, ensure_ascii: bool = True) -> list[Mutation]:
    return [Mutation(label, *encode(kind.wire, body, ensure_ascii=ensure_ascii))]


def fields_removed(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    done = [show(p) for p in pick_paths(body, rng, rng.choice((1, 1, 2, 3))) if delete_at(body, p)]
    return _one(kind, body, "removed " + ", ".join(done))


def fields_nulled(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    done = [show(p) for p in pick_paths(body, rng, rng.choice((1, 1, 2, 3))) if set_at(body, p, None)]
    return _one(kind, body, "null " + ", ".join(done))


def wrong_types(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    done = []
    for path in pick_paths(body, rng, rng.choice((1, 1, 2, 3))):
        if not exists(body, path):
            continue
        value = other_type(get_at(body, path), rng)
        if kind.wire == "form" and rng.random() < 0.5:
            value = [str(value), "second"]  # a repeated form key
        set_at(body, path, value)
        done.append(f"{show(path)}={value!r:.40}")
    return _one(kind, body, "wrong type " + ", ".join(done))


def huge_strings(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    targets = string_paths(body)
    done = []
    for path in rng.sample(targets, min(len(targets), rng.choice((1, 1, 2, 3)))):
        size = rng.choice((10_000, 10_000, 20_000, 50_000))
        set_at(body, path, huge_string(rng, size))
        done.append(f"{show(path)}[{size}]")
    return _one(kind, body, "huge " + ", ".join(done), ensure_ascii=rng.random() < 0.5)


def unicode_control(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    targets = string_paths(body)
    done = []
    for path in rng.sample(targets, min(len(targets), rng.choice((1, 2, 3)))):
        text = rng.choice(HOSTILE_TEXT)
        old = get_at(body, path)
        new = rng.choice((text, old + text, text + old, old[: len(old) // 2] + text + old[len(old) // 2:]))
        set_at(body, path, new)
        done.append(f"{show(path)}={new!r:.40}")
    surrogate = any("\ud800" <= ch <= "\udfff" for p in targets for ch in str(get_at(body, p)))
    return _one(kind, body, "text " + ", ".join(done), ensure_ascii=surrogate or rng.random() < 0.5)


def team_id(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    team_paths = [p for p in paths(body) if p[-1] in ("team_id", "team")]
    how = rng.choice(("missing", "foreign", "null", "mismatch", "enterprise", "huge", "empty"))
    for index, path in enumerate(team_paths):
        value = get_at(body, path)
        target = (*path, "id") if isinstance(value, dict) and "id" in value else path
        if how == "missing":
            delete_at(body, path)
        elif how == "mismatch":
            set_at(body, target, "T0EVIL" if index % 2 else t.team_id)
        else:
            new = {"foreign": "T0EVIL", "null": None, "enterprise": "E0EVIL", "huge": "T" * 10_000, "empty": ""}[how]
            set_at(body, target, new)
    if how == "enterprise":
        body["enterprise"] = {"id": "E0EVIL", "name": "Evil Org"}
        body["is_enterprise_install"] = True
        if kind.wire == "json":
            body["enterprise_id"] = "E0EVIL"
    return _one(kind, body, f"team {how} ({len(team_paths)} fields)")


_UNKNOWN_ACTIONS = ("baton.decide.nuke", "baton.cancel ", "BATON.CANCEL", "baton.decide.", "", "x" * 300,
                    "baton.decide.accept\n", "baton.decide.accept.extra", "unknown", "baton.retry\x00")
_OTHER_INTERACTIVE = ("block_suggestion", "shortcut", "message_action", "view_closed", "interactive_message",
                      "dialog_submission", "workflow_step_edit", "")
_OTHER_EVENTS = ("unknown_event", "", "app_uninstalled", "tokens_revoked", "reaction_added", "member_joined_channel",
                 "assistant_thread_started_x", "function_executed")


def unknown_action_ids(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    roll = rng.random()
    if kind.name == "block_actions":
        if roll < 0.6:
            body["actions"][0]["action_id"] = label = rng.choice(_UNKNOWN_ACTIONS)
        elif roll < 0.75:
            body["actions"], label = [], "actions []"
        elif roll < 0.85:
            body["actions"] = [dict(body["actions"][0], action_id=a) for a in rng.sample(_UNKNOWN_ACTIONS, 5)]
            label = "5 actions"
        else:
            body["type"] = label = rng.choice(_OTHER_INTERACTIVE)
    elif kind.name == "view_submission":
        if roll < 0.6:
            body["view"]["callback_id"] = label = rng.choice(("baton.view.nuke", "", "baton.view.edit ", "x" * 300))
        elif roll < 0.8:
            body["view"]["state"] = {"values": {}}
            label = "no input block"
        else:
            body["type"] = label = rng.choice(_OTHER_INTERACTIVE)
    elif kind.name == "slash_command":
        if roll < 0.5:
            body["command"] = label = rng.choice(("/evil", "/BATON", "", "/baton\x00", "baton", "/baton " * 3))
        elif roll < 0.9:
            body["text"] = label = rng.choice(("nuke everything", "run", "run  ", "RUN DIAGNOSTIC x", "--help",
                                               "status status status", "cancel", "run Diagnostic x"))
        else:
            body = {"ssl_check": "1", "token": "x"}
            label = "ssl_check"
    elif kind.name == "url_verification":
        if roll < 0.5:
            body.pop("challenge")
            label = "no challenge"
        else:
            body["type"] = label = rng.choice(("url_verificationx", "app_rate_limited", "", "ssl_check"))
    elif roll < 0.7:
        body["event"]["type"] = label = rng.choice(_OTHER_EVENTS)
    elif roll < 0.85:
        body["event"].update(type="message", subtype="message_changed",
                             message={"subtype": "assistant_app_thread", "text": "x"})
        label = "message_changed (assistant_app_thread)"
    else:
        body["type"] = label = rng.choice(("app_rate_limited", "event_callbackx", "", "events_api"))
    return _one(kind, body, f"unknown {label!r:.60}")


def _forged_values(t: Target) -> tuple[str, ...]:
    real = t.task_refs[0]
    return (
        "not json", "[]", "null", "1", '{"t": 1}', '{"t": null}', '{"t": ["a"]}', '{"t": {"$ne": null}}', '{"c": "x"}',
        ButtonRef(real.task_id, "cp-forged").encode(), ButtonRef("ops_audit-ffffffffffff", "cp-1").encode(),
        '{"t": "../../x"}', '{"t": "' + "a" * 300 + '"}', '{"t":"diagnostic-0123456789ab","c":5,"ch":[],"ts":{}}',
        '{"t": "x"', ButtonRef(real.task_id, real.checkpoint_id, "C0EVIL", "1.2").encode(),
        '{"t": "x", "t": "y"}', "%7B%22t%22", '{"t":"\\u0000"}', '{"t": "diagnostic-0123456789ab", "c": null}',
        ButtonRef("AgentWorkflow").encode(), ButtonRef("temporal-sys-catalog").encode(),
    )


_EMPTY_VALUES = ('{"t": ""}', '{"t": " "}', '{"t": "", "c": ""}', "{}", "", '{"t": "\\u200b"}', '{"t":"","c":null}')
_EMPTY_COMMANDS = ("status ``", "cancel ", "cancel \u200b", "status \u200b", "cancel ``", 'cancel ""', "status ''")


def _point_at(kind: Kind, body: Body, value: str, command: str) -> Path:
    """Put a forged reference where this kind carries one (a command for the kinds that take text); returns where."""
    where: dict[str, tuple[Path, str]] = {
        "block_actions": (("actions", 0, "value"), value),
        "view_submission": (("view", "private_metadata"), value),
        "slash_command": (("text",), command),
        "app_mention": (("event", "text"), "<@U0BATONBOT> " + command),
        "message_im": (("event", "text"), command),
        "app_home_opened": (("event", "view", "private_metadata"), value),
        "assistant_thread_started": (("event", "assistant_thread", "context", "channel_id"), value),
        "assistant_thread_context_changed": (("event", "assistant_thread", "context", "channel_id"), value),
        "url_verification": (("challenge",), value),
    }
    path, new = where[kind.name]
    set_at(body, path, new)
    return path


def forged_button_values(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    value = rng.choice(_forged_values(t))
    task = rng.choice((t.task_refs[0].task_id, "ops_audit-ffffffffffff", "x" * 201, "AgentWorkflow"))
    path = _point_at(kind, body, value, f"{rng.choice(('cancel', 'status'))} {task}")
    return _one(kind, body, f"{show(path)} = {get_at(body, path)!r:.60}")


def empty_task_ids(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body = kind.build(t, rng)
    path = _point_at(kind, body, rng.choice(_EMPTY_VALUES), rng.choice(_EMPTY_COMMANDS))
    return _one(kind, body, f"{show(path)} = {get_at(body, path)!r:.40}")


def duplicate_retry(kind: Kind, t: Target, rng: random.Random) -> list[Mutation]:
    body, ctype = encode(kind.wire, kind.build(t, rng))
    copies = rng.choice((2, 2, 3))
    together = rng.random() < 0.3
    reason = rng.choice(("http_timeout", "http_timeout", "http_error", "too_many_redirects", "unknown_error"))
    odd = rng.random() < 0.15
    batch = []
    for n in range(copies):
        headers = {} if n == 0 else {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": reason}
        if odd and n > 0:
            headers["X-Slack-Retry-Num"] = rng.choice(("abc", "-1", "9" * 40, ""))
        batch.append(Mutation(f"{copies} copies{' at once' if together else ''}{', odd retry header' if odd else ''}",
                              body, ctype, headers=headers, together=together and n > 0))
    return batch


FIELD_CATEGORIES: dict[str, Callable[[Kind, Target, random.Random], list[Mutation]]] = {
    "fields_removed": fields_removed,
    "fields_nulled": fields_nulled,
    "wrong_types": wrong_types,
    "huge_strings": huge_strings,
    "unicode_control": unicode_control,
    "team_id": team_id,
    "unknown_action_ids": unknown_action_ids,
    "forged_button_values": forged_button_values,
    "empty_task_ids": empty_task_ids,
    "duplicate_retry": duplicate_retry,
}
