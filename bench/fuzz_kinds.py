"""The payload kinds the fuzzer mutates: Slack's own bodies (bench/fuzz_payloads/), re-addressed to the sandbox
workspace the bot serves, so that each one unmutated is a delivery the bot accepts and acts on.

A kind builds a fresh body (a dict) per delivery; `encode` puts it on the wire as Slack does: raw JSON for the Events
API, a form body for slash commands, one `payload=` form field for interactivity.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

from bot.blocks.ids import (
    ACTION_CANCEL,
    ACTION_RETRY,
    INPUT_ACTION,
    INPUT_BLOCK,
    VIEW_EDIT,
    VIEW_REJECT,
    VIEW_RESPOND,
    ButtonRef,
    decide_action_id,
)

__all__ = ["FORM", "JSON", "KINDS", "Kind", "Target", "WireFormat", "encode", "encode_form", "load"]

PAYLOADS = Path(__file__).parent / "fuzz_payloads"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
WireFormat = Literal["form", "payload", "json"]


def load(name: str) -> Any:
    text = (PAYLOADS / name).read_text(encoding="utf-8")
    return dict(parse_qsl(text, keep_blank_values=True)) if name.endswith(".form.txt") else json.loads(text)


@dataclass(frozen=True)
class Target:
    """Who deliveries are addressed to, and the fake Slack's minted trigger ids and response_urls."""

    team_id: str
    team_domain: str
    app_id: str
    bot_user_id: str
    users: tuple[str, ...]
    channels: tuple[str, ...]
    response_url: Callable[[str, str], str]
    trigger: Callable[[str], str]
    task_refs: tuple[ButtonRef, ...]
    """References the buttons of the base payloads point at: a real task (when one could be started) and made-up."""


@dataclass(frozen=True)
class Kind:
    name: str
    wire: WireFormat
    build: Callable[[Target, random.Random], dict[str, Any]]


def _ts(rng: random.Random) -> str:
    return f"{time.time() - rng.random() * 60:.6f}"


def _event_id(rng: random.Random) -> str:
    return f"Ev{rng.getrandbits(48):012X}"


def _dm(user: str) -> str:
    return "D" + user[1:]


def _envelope(body: dict[str, Any], t: Target, rng: random.Random) -> dict[str, Any]:
    body.update(team_id=t.team_id, api_app_id=t.app_id, event_id=_event_id(rng), event_time=int(time.time()),
                token="sandbox-verification-token")
    body["authorizations"] = [{"enterprise_id": None, "team_id": t.team_id, "user_id": t.bot_user_id,
                               "is_bot": True, "is_enterprise_install": False}]
    body.pop("authed_users", None)
    body.pop("authed_teams", None)
    return body


_COMMANDS = ("help", "status", "list", "agents", "status diagnostic-0123456789ab", "cancel diagnostic-0123456789ab",
             "run nonexistent_agent do things", "sing a song")


def slash_command(t: Target, rng: random.Random) -> dict[str, Any]:
    form = load("slash_command_signing_doc_body.form.txt")
    user, channel = rng.choice(t.users), rng.choice(t.channels)
    form.update(team_id=t.team_id, team_domain=t.team_domain, channel_id=channel, channel_name=channel.lower(),
                user_id=user, user_name=user.lower(), command="/baton", text=rng.choice(_COMMANDS),
                api_app_id=t.app_id, response_url=t.response_url(channel, user), trigger_id=t.trigger(user),
                token="sandbox-verification-token")
    return form


def app_mention(t: Target, rng: random.Random) -> dict[str, Any]:
    body = load("app_mention_socket_mode_envelope.json")["payload"]
    event, ts = body["event"], _ts(rng)
    user, channel = rng.choice(t.users), rng.choice(t.channels)
    event.update(user=user, channel=channel, team=t.team_id, ts=ts, event_ts=ts,
                 text=f"<@{t.bot_user_id}> " + rng.choice(("hello", "status", "what can you do")))
    event["blocks"][0]["elements"][0]["elements"][0]["user_id"] = t.bot_user_id
    body["event_context"] = f"4-app_mention-{t.team_id}-{channel}"
    return _envelope(body, t, rng)


def message_im(t: Target, rng: random.Random) -> dict[str, Any]:
    body = load("message_im_event.json")
    user, ts = rng.choice(t.users), _ts(rng)
    body["event"].update(user=user, channel=_dm(user), ts=ts, event_ts=ts,
                         text=rng.choice(("hello", "status", "how is diagnostic-0123456789ab going")))
    if rng.random() < 0.3:  # a person's message in an assistant thread
        body["event"]["thread_ts"] = _ts(rng)
    return _envelope(body, t, rng)


def app_home_opened(t: Target, rng: random.Random) -> dict[str, Any]:
    body = load("app_home_opened_event.json")
    user = rng.choice(t.users)
    body["event"].update(user=user, channel=_dm(user), event_ts=_ts(rng))
    body["event"]["view"].update(team_id=t.team_id, app_id=t.app_id, app_installed_team_id=t.team_id)
    return _envelope(body, t, rng)


def _assistant(name: str) -> Callable[[Target, random.Random], dict[str, Any]]:
    def build(t: Target, rng: random.Random) -> dict[str, Any]:
        body = load(name)
        user = rng.choice(t.users)
        thread = body["event"]["assistant_thread"]
        thread.update(user_id=user, channel_id=_dm(user), thread_ts=_ts(rng))
        thread["context"] = {"channel_id": rng.choice(t.channels), "team_id": t.team_id, "enterprise_id": None}
        body["event"]["event_ts"] = _ts(rng)
        return _envelope(body, t, rng)

    return build


_ACTIONS = (ACTION_CANCEL, ACTION_RETRY, *(decide_action_id(k) for k in ("accept", "edit", "reject", "respond")))


def block_actions(t: Target, rng: random.Random) -> dict[str, Any]:
    body = load("block_actions_bolt_test_message_ephemeral.json")
    user, channel, message_ts = rng.choice(t.users), rng.choice(t.channels), _ts(rng)
    body.update(user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": t.team_id},
                api_app_id=t.app_id, token="sandbox-verification-token", trigger_id=t.trigger(user),
                team={"id": t.team_id, "domain": t.team_domain},
                container={"type": "message", "message_ts": message_ts, "channel_id": channel,
                           "is_ephemeral": False},
                channel={"id": channel, "name": channel.lower()},
                response_url=t.response_url(channel, user))
    ref = rng.choice(t.task_refs)
    body["actions"][0].update(action_id=rng.choice(_ACTIONS), block_id=f"b{rng.getrandbits(16):04x}",
                              value=ButtonRef(ref.task_id, ref.checkpoint_id, channel, message_ts).encode(),
                              action_ts=_ts(rng))
    return body


_VIEWS = {VIEW_EDIT: '{"host": "web-3", "action": "close_port"}', VIEW_REJECT: "not now", VIEW_RESPOND: "yes"}


def view_submission(t: Target, rng: random.Random) -> dict[str, Any]:
    body = load("view_submission_bolt_test.json")
    user, callback_id = rng.choice(t.users), rng.choice(tuple(_VIEWS))
    ref = rng.choice(t.task_refs)
    body.update(user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": t.team_id},
                team={"id": t.team_id, "domain": t.team_domain}, api_app_id=t.app_id, trigger_id=t.trigger(user),
                token="sandbox-verification-token")
    view = body["view"]
    view.update(team_id=t.team_id, app_id=t.app_id, app_installed_team_id=t.team_id, callback_id=callback_id,
                private_metadata=ButtonRef(ref.task_id, ref.checkpoint_id, rng.choice(t.channels),
                                           _ts(rng)).encode())
    view["blocks"] = [{"type": "input", "block_id": INPUT_BLOCK, "label": {"type": "plain_text", "text": "Answer"},
                       "optional": False, "element": {"type": "plain_text_input", "action_id": INPUT_ACTION}}]
    view["state"] = {"values": {INPUT_BLOCK: {INPUT_ACTION: {"type": "plain_text_input",
                                                             "value": _VIEWS[callback_id]}}}}
    return body


def url_verification(t: Target, rng: random.Random) -> dict[str, Any]:
    body = load("url_verification.json")
    body["challenge"] = f"{rng.getrandbits(128):032x}"
    return body


KINDS: tuple[Kind, ...] = (
    Kind("slash_command", "form", slash_command),
    Kind("app_mention", "json", app_mention),
    Kind("message_im", "json", message_im),
    Kind("app_home_opened", "json", app_home_opened),
    Kind("assistant_thread_started", "json", _assistant("assistant_thread_started_event.json")),
    Kind("assistant_thread_context_changed", "json", _assistant("assistant_thread_context_changed_event.json")),
    Kind("block_actions", "payload", block_actions),
    Kind("view_submission", "payload", view_submission),
    Kind("url_verification", "json", url_verification),
)


def _form_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value)


def encode_form(fields: dict[str, Any]) -> bytes:
    """A form body; None is a bare key (`key` without `=`), a list repeats the key, anything else is its JSON."""
    parts: list[str] = []
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            text = _form_value(item)
            name = quote(str(key), errors="surrogatepass")
            parts.append(name if text is None else f"{name}={quote(text, safe='', errors='surrogatepass')}")
    return "&".join(parts).encode()


def encode(wire: WireFormat, body: Any, *, ensure_ascii: bool = True) -> tuple[bytes, str]:
    """(raw body, content type) of `body` as Slack sends this kind."""
    if wire == "form":
        if isinstance(body, dict):
            return encode_form(body), FORM
        return json.dumps(body, ensure_ascii=ensure_ascii).encode(), FORM
    text = json.dumps(body, ensure_ascii=ensure_ascii)
    if wire == "payload":
        return f"payload={quote(text, safe='', errors='surrogatepass')}".encode(), FORM
    return text.encode("utf-8", "surrogatepass"), JSON
