"""What one person sees of the fake workspace: the page's snapshot, and which live changes reach which viewer.

Slack shows an ephemeral message and a modal only to the person they were made for; the page follows the same rule
here, on the server, so switching users in the page never leaks what another person was shown. An assistant pane
lives in the person's DM with the app, so only its person sees it either.

A pane is drawn from what the bot set through assistant.threads.* (sandbox.fake_assistant keeps it): the suggested
prompts, the status, the title. The page hides the status once the app posts in the thread after it, the rule the
fake's `status_shown` applies, so the page needs no second copy of the thread's messages.
"""

from __future__ import annotations

from typing import Any

from sandbox.api_methods import WebApiMethods
from sandbox.fake_assistant import PANE_CHANGED, AssistantMethods, AssistantPane
from sandbox.fake_streams import STREAM_CHANGED, FakeStreams
from sandbox.workspace import Ephemeral, StateChange, View, Workspace

__all__ = ["ViewerEvent", "dm_channel", "snapshot", "viewer_event", "visible_to"]

ViewerEvent = dict[str, Any]

_MESSAGE_KINDS = {"message_posted", "message_updated", "reaction_added", "message_deleted"}
_EPHEMERAL_KINDS = {"ephemeral_posted", "ephemeral_updated", "ephemeral_deleted"}
_VIEW_KINDS = {"view_opened", "view_pushed", "view_updated", "view_closed"}


def dm_channel(user_id: str) -> str:
    """The person's direct-message conversation with the bot (Slack's D… ids); one per person, stable per run."""
    return "D" + (user_id[1:] if user_id.startswith("U") else user_id)


def visible_to(channel: str | None, viewer: str) -> bool:
    """Channels are public to everyone in the sandbox; a DM only to its person (the bot's side is the API)."""
    return not channel or not channel.startswith("D") or channel == dm_channel(viewer)


def snapshot(ws: Workspace, viewer: str, methods: WebApiMethods) -> dict[str, Any]:
    """Everything the page needs to draw from scratch (first load, reconnect, user switch)."""
    messages = [_message_json(m.to_slack(ws.team_id, ws.app_id), m.channel, methods.streams)
                for channel, listed in ws.messages.items() if visible_to(channel, viewer) for m in listed]
    home = ws.home_views.get(viewer)
    return {
        "type": "snapshot",
        "viewer": viewer,
        "team": {"id": ws.team_id, "domain": ws.team_domain},
        "bot": {"user_id": ws.bot_user.id, "bot_id": ws.bot_id, "name": ws.bot_user.real_name or ws.bot_user.name},
        "users": [_user(u.id, ws) for u in ws.users.values()],
        "usergroups": [{"id": g.id, "handle": g.handle, "name": g.name, "users": list(g.users)}
                       for g in ws.usergroups.values()],
        "channels": [{"id": cid, "name": name} for cid, name in ws.channels.items() if not cid.startswith("D")],
        "messages": sorted(messages, key=lambda m: m["ts"]),
        "ephemerals": [_ephemeral(e) for e in ws.ephemerals if e.user == viewer],
        "views": [_view(ws, v) for v in ws.views.values() if v.type == "modal" and v.user == viewer and v.is_open],
        "dm_channel": dm_channel(viewer),
        "home": _view(ws, home) if home is not None else None,
        "assistant": _panes_for(methods.assistant, dm_channel(viewer)),
    }


def viewer_event(change: StateChange, viewer: str, ws: Workspace, methods: WebApiMethods) -> ViewerEvent | None:
    """The change as the page applies it, or None when `viewer` must not see it (or the page has no use for it)."""
    if change.kind in _MESSAGE_KINDS:
        if not visible_to(change.channel, viewer):
            return None
        data = dict(change.data)
        data.setdefault("channel", change.channel)
        return {"type": "message", "kind": change.kind, "channel": change.channel, "ts": change.ts, "message": data}
    if change.kind == STREAM_CHANGED:
        if not visible_to(change.channel, viewer):
            return None
        return {"type": "stream", "channel": change.channel, "ts": change.ts,
                "streaming": bool(change.data.get("streaming"))}
    if change.kind == PANE_CHANGED:
        if change.channel != dm_channel(viewer) or change.ts is None:
            return None
        return {"type": "assistant", "pane": _pane_json(methods.assistant.pane(change.channel, change.ts))}
    if change.kind == "home_published":
        # Each person's App Home is their own: Bob never sees the view published for Alice.
        if change.user != viewer:
            return None
        stored = ws.home_views.get(viewer)
        return {"type": "home", "view": _view(ws, stored) if stored is not None else change.data}
    if change.kind in _EPHEMERAL_KINDS:
        if change.user != viewer:
            return None
        return {"type": "ephemeral", "kind": change.kind, "ephemeral": _ephemeral_data(change.data)}
    if change.kind in _VIEW_KINDS:
        if change.user != viewer:
            return None
        view_id = str(change.data.get("id", ""))
        if change.kind == "view_closed":
            return {"type": "view", "kind": change.kind, "view": {"id": view_id}}
        stored = ws.views.get(view_id)
        return {"type": "view", "kind": change.kind,
                "view": _view(ws, stored) if stored is not None else change.data}
    return None


def _user(user_id: str, ws: Workspace) -> dict[str, Any]:
    u = ws.users[user_id]
    groups = [g.handle for g in ws.usergroups.values() if user_id in g.users]
    return {"id": u.id, "name": u.name, "real_name": u.real_name or u.name, "is_admin": u.is_admin,
            "is_bot": u.is_bot, "groups": groups}


def _ephemeral(e: Ephemeral) -> dict[str, Any]:
    return {"channel": e.channel, "user": e.user, "ts": e.message_ts, "text": e.text, "blocks": e.blocks,
            "thread_ts": e.thread_ts}


def _ephemeral_data(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data.get(key) for key in ("channel", "user", "ts", "text", "blocks", "thread_ts")}


def _view(ws: Workspace, view: View) -> dict[str, Any]:
    out = ws.view_to_slack(view)
    out["is_open"] = view.is_open
    return out


def _pane_json(pane: AssistantPane) -> dict[str, Any]:
    return {
        "channel": pane.channel,
        "thread_ts": pane.thread_ts,
        "status": pane.status,
        "status_ts": pane.status_ts,
        "loading_messages": list(pane.loading_messages),
        "prompts": [{"title": p.title, "message": p.message} for p in pane.prompts],
        "prompts_title": pane.prompts_title,
        "title": pane.title,
    }


def _panes_for(assistant: AssistantMethods, dm: str) -> list[dict[str, Any]]:
    """The panes of the viewer's assistant threads: they all live in the viewer's DM with the app."""
    return [_pane_json(pane) for (channel, _), pane in assistant.panes.items() if channel == dm]


def _message_json(message: dict[str, Any], channel: str, streams: FakeStreams) -> dict[str, Any]:
    """A message in the page's snapshot: with `streaming` while chat.startStream's message still takes appends (the
    page shows a typing caret; later starts and stops reach it as the fake's stream changes). A stream that outlives
    Slack's lifetime ends without a change: the caret stays until the next snapshot."""
    out = message | {"channel": channel}
    ts = str(message.get("ts") or "")
    if ts and streams.streaming(channel, ts):
        out["streaming"] = True
    return out
