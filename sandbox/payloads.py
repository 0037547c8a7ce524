"""Slack request bodies, built in the shapes of the real ones Slack sends (see tests/sandbox/reference/).

Pure functions: the Events API envelope and its `message` / `app_mention` events, the slash command form, and the
`block_actions` / `view_submission` interactivity payloads. SlackDelivery signs and sends them.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SlackApp",
    "app_mention_event",
    "block_actions_payload",
    "event_envelope",
    "find_action",
    "message_event",
    "slash_command_form",
    "view_state_values",
    "view_submission_payload",
]


@dataclass(frozen=True)
class SlackApp:
    """Who the requests come from and go to: the workspace and the installed app."""

    team_id: str = "T0SANDBOX"
    team_domain: str = "baton-sandbox"
    api_app_id: str = "A0BATON"
    bot_user_id: str = "U0BATONBOT"
    verification_token: str = "sandbox-verification-token"  # deprecated by Slack, still sent

    def user(self, user_id: str, name: str | None = None) -> dict[str, Any]:
        name = name or user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def team(self) -> dict[str, Any]:
        return {"id": self.team_id, "domain": self.team_domain}


def new_ts() -> str:
    return f"{time.time():.6f}"


def message_event(user: str, channel: str, text: str, *, ts: str | None = None, thread_ts: str | None = None,
                  team: str = "T0SANDBOX") -> dict[str, Any]:
    """A `message` event; DM channels (D…) carry channel_type im as Slack sends them."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "client_msg_id": secrets.token_hex(16), "type": "message", "text": text, "user": user, "ts": ts,
        "team": team, "blocks": _rich_text(text), "channel": channel, "event_ts": ts,
        "channel_type": "im" if channel.startswith("D") else "group" if channel.startswith("G") else "channel",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def app_mention_event(user: str, channel: str, text: str, *, ts: str | None = None, thread_ts: str | None = None,
                      team: str = "T0SANDBOX") -> dict[str, Any]:
    """An `app_mention` event (reference: app_mention_socket_mode_envelope.json); `text` holds `<@BOT>`."""
    event = message_event(user, channel, text, ts=ts, thread_ts=thread_ts, team=team)
    event["type"] = "app_mention"
    event.pop("channel_type")
    return event


def _rich_text(text: str) -> list[dict[str, Any]]:
    return [{"type": "rich_text", "block_id": secrets.token_hex(2),
             "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]}]


def event_envelope(app: SlackApp, event: dict[str, Any], *, event_id: str | None = None,
                   event_time: int | None = None, team_id: str | None = None) -> dict[str, Any]:
    """The Events API `event_callback` body Slack POSTs to the request URL."""
    team_id = team_id or app.team_id
    return {
        "token": app.verification_token,
        "team_id": team_id,
        "api_app_id": app.api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": event_time or int(time.time()),
        "authorizations": [{"enterprise_id": None, "team_id": team_id, "user_id": app.bot_user_id, "is_bot": True,
                            "is_enterprise_install": False}],
        "is_ext_shared_channel": False,
        "event_context": f"4-{secrets.token_urlsafe(24)}",
    }


def slash_command_form(app: SlackApp, *, text: str, user_id: str, channel_id: str, command: str,
                       trigger_id: str, response_url: str, user_name: str | None = None,
                       channel_name: str | None = None, team_id: str | None = None) -> dict[str, str]:
    """The form fields of a slash command, in the order Slack sends them (slash_command_signing_doc_body)."""
    return {
        "token": app.verification_token,
        "team_id": team_id or app.team_id,
        "team_domain": app.team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name or channel_id.lower(),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": app.api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def find_action(blocks: list[dict[str, Any]], action_id: str) -> tuple[str, dict[str, Any]] | None:
    """(block_id, element) of the interactive element `action_id` in message or view blocks."""
    for block in blocks:
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id") or ""), element
    return None


def block_actions_payload(app: SlackApp, *, user_id: str, action_id: str, value: str | None, block_id: str,
                          element: dict[str, Any] | None, trigger_id: str, response_url: str | None,
                          channel_id: str | None = None, message: dict[str, Any] | None = None,
                          message_ts: str | None = None, thread_ts: str | None = None,
                          is_ephemeral: bool = False, view: dict[str, Any] | None = None,
                          user_name: str | None = None, team_id: str | None = None) -> dict[str, Any]:
    """A button click (reference: block_actions_bolt_test_message_ephemeral.json), from a message or a view."""
    element = element or {}
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "text": element.get("text") or {"type": "plain_text", "text": action_id, "emoji": True},
        "type": element.get("type", "button"),
        "action_ts": new_ts(),
    }
    if value is not None:
        action["value"] = value
    if element.get("style"):
        action["style"] = element["style"]
    team = app.team() if team_id is None else {"id": team_id, "domain": app.team_domain}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": app.user(user_id, user_name),
        "api_app_id": app.api_app_id,
        "token": app.verification_token,
        "trigger_id": trigger_id,
        "team": team,
        "enterprise": None,
        "is_enterprise_install": False,
        "state": {"values": {}},
        "actions": [action],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = view
    else:
        container: dict[str, Any] = {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                                     "is_ephemeral": is_ephemeral}
        if thread_ts:
            container["thread_ts"] = thread_ts
        payload["container"] = container
        payload["channel"] = {"id": channel_id, "name": (channel_id or "").lower()}
        if message is not None and not is_ephemeral:
            payload["message"] = message
        payload["response_url"] = response_url
    return payload


def view_state_values(view: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`{block_id: {action_id: "typed text"}}` -> Slack's view.state.values, typed after the view's elements."""
    kinds = {}
    for block in view.get("blocks", []):
        element = block.get("element") if isinstance(block, dict) else None
        if isinstance(element, dict):
            kinds[(block.get("block_id"), element.get("action_id"))] = element.get("type", "plain_text_input")
    state: dict[str, Any] = {}
    for block_id, actions in values.items():
        for action_id, value in actions.items():
            if isinstance(value, dict):
                entry = value
            else:
                kind = kinds.get((block_id, action_id), "plain_text_input")
                if kind in ("static_select", "radio_buttons"):
                    entry = {"type": kind, "selected_option": {"text": {"type": "plain_text", "text": str(value)},
                                                                "value": str(value)}}
                else:
                    entry = {"type": kind, "value": value}
            state.setdefault(block_id, {})[action_id] = entry
    return state


def view_submission_payload(app: SlackApp, *, user_id: str, view: dict[str, Any], values: dict[str, Any],
                            trigger_id: str, user_name: str | None = None,
                            team_id: str | None = None) -> dict[str, Any]:
    """A modal submission (reference: view_submission_bolt_test.json); `values` as view_state_values takes."""
    submitted = {**view, "state": {"values": view_state_values(view, values)}}
    team = app.team() if team_id is None else {"id": team_id, "domain": app.team_domain}
    return {
        "type": "view_submission",
        "team": team,
        "user": app.user(user_id, user_name),
        "api_app_id": app.api_app_id,
        "token": app.verification_token,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
