"""The state of one fake Slack workspace: people, channels, messages, views, files.

Kept apart from the HTTP server so the Web API methods, the tests' helpers and (later) the browser sandbox all
read and change one model, and every change is announced once through `on_change`.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_USERGROUPS",
    "DEFAULT_USERS",
    "Ephemeral",
    "Message",
    "SlackUser",
    "SlackUserGroup",
    "StateChange",
    "TsClock",
    "UploadedFile",
    "View",
    "Workspace",
]


@dataclass(frozen=True)
class SlackUser:
    """A person (or the bot) as users.info describes them."""

    id: str
    name: str
    real_name: str = ""
    is_admin: bool = False
    is_owner: bool = False
    is_bot: bool = False
    tz: str = "Europe/Paris"

    def to_slack(self, team_id: str) -> dict[str, Any]:
        real_name = self.real_name or self.name
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": False,
            "real_name": real_name,
            "tz": self.tz,
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "team": team_id,
            },
        }


@dataclass(frozen=True)
class SlackUserGroup:
    """A user group (`<!subteam^S…>`); usergroups.users.list resolves it to user ids."""

    id: str
    handle: str
    name: str
    users: tuple[str, ...] = ()


DEFAULT_USERS: tuple[SlackUser, ...] = (
    SlackUser("U01ALICE", "alice", "Alice Martin", is_admin=True),
    SlackUser("U02BOB", "bob", "Bob Durand"),
    SlackUser("U03CAROL", "carol", "Carol Petit"),
)
DEFAULT_USERGROUPS: tuple[SlackUserGroup, ...] = (
    SlackUserGroup("S01APPROVERS", "approvers", "Approvers", ("U01ALICE", "U03CAROL")),
)


@dataclass
class Message:
    """A channel or thread message; `blocks`/`text` change in place on chat.update."""

    channel: str
    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    bot_id: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    metadata: dict[str, Any] | None = None
    edited_ts: str | None = None
    reply_ts: list[str] = field(default_factory=list)
    via_response_url: bool = False

    def to_slack(self, team_id: str, app_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "text": self.text, "user": self.user, "ts": self.ts}
        out["team"] = team_id
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = app_id
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.files:
            out["files"] = self.files
            out["upload"] = False
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.reply_ts:
            out["thread_ts"] = self.ts
            out["reply_count"] = len(self.reply_ts)
            out["latest_reply"] = self.reply_ts[-1]
        if self.edited_ts:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.reactions:
            out["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in self.reactions.items()]
        if self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass
class Ephemeral:
    """A message only `user` sees; Slack keeps no copy the bot can read back, we keep one for tests."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    via_response_url: bool = False


@dataclass
class View:
    """A modal (stacked per user) or a Home tab, as views.* returns it."""

    id: str
    type: str
    user: str | None
    payload: dict[str, Any]
    hash: str
    trigger_id: str | None = None
    root_view_id: str | None = None
    previous_view_id: str | None = None
    is_open: bool = True

    def to_slack(self, team_id: str, app_id: str, bot_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "team_id": team_id,
            "type": self.type,
            "blocks": self.payload.get("blocks", []),
            "private_metadata": self.payload.get("private_metadata", ""),
            "callback_id": self.payload.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self.hash,
            "title": self.payload.get("title"),
            "clear_on_close": bool(self.payload.get("clear_on_close", False)),
            "notify_on_close": bool(self.payload.get("notify_on_close", False)),
            "close": self.payload.get("close"),
            "submit": self.payload.get("submit"),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id or self.id,
            "app_id": app_id,
            "external_id": self.payload.get("external_id", ""),
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        }
        return out


@dataclass
class UploadedFile:
    """A file from files.getUploadURLExternal; `content` arrives on the upload URL, sharing on completion."""

    id: str
    filename: str
    length: int
    title: str = ""
    content: bytes | None = None
    channels: list[str] = field(default_factory=list)
    created: int = 0


@dataclass(frozen=True)
class StateChange:
    """One visible change, for live views: kind is e.g. message_posted, message_updated, view_opened."""

    kind: str
    data: dict[str, Any]
    channel: str | None = None
    ts: str | None = None
    user: str | None = None


class TsClock:
    """Slack message timestamps ("1700000000.000100"): wall-clock microseconds, strictly increasing."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last = 0

    def next(self) -> str:
        micros = max(int(self._now() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class Workspace:
    """Everything the fake Slack remembers; mutations go through methods that announce a StateChange."""

    def __init__(
        self,
        *,
        team_id: str,
        team_domain: str,
        bot_user: SlackUser,
        bot_id: str,
        app_id: str,
        users: tuple[SlackUser, ...],
        usergroups: tuple[SlackUserGroup, ...],
        channels: dict[str, str],
        on_change: Callable[[StateChange], None],
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user = bot_user
        self.bot_id = bot_id
        self.app_id = app_id
        self.users: dict[str, SlackUser] = {u.id: u for u in (*users, bot_user)}
        self.usergroups: dict[str, SlackUserGroup] = {g.id: g for g in usergroups}
        self.channels: dict[str, str] = dict(channels)
        self.members: dict[str, list[str]] = {}
        """Who is in a channel, for the channels given members (`members_of` answers for the others)."""
        self.messages: dict[str, list[Message]] = {c: [] for c in channels}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.home_views: dict[str, View] = {}
        self.files: dict[str, UploadedFile] = {}
        self.triggers: dict[str, str] = {}
        self.clock = TsClock()
        self._ids = itertools.count(1)
        self._emit = on_change

    def announce(self, change: StateChange) -> None:
        """Tell live views about a change kept outside this model (the assistant pane's status, prompts, title)."""
        self._emit(change)

    # ids ---------------------------------------------------------------------------------------------------------
    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}{secrets.token_hex(3).upper()}"

    def issue_trigger(self, user_id: str) -> str:
        """A trigger_id as Slack puts in interactive payloads; views.open remembers whose it was."""
        trigger = f"{int(time.time())}.{next(self._ids)}.{secrets.token_hex(16)}"
        self.triggers[trigger] = user_id
        return trigger

    # messages ----------------------------------------------------------------------------------------------------
    def ensure_channel(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels[channel] = channel.lower()
            self.messages[channel] = []

    def members_of(self, channel: str) -> list[str]:
        """A channel's members: those it was given, else everyone (a public channel the whole workspace joined)."""
        if channel in self.members:
            return list(self.members[channel])
        return list(self.users)

    def find(self, channel: str, ts: str) -> Message | None:
        for m in self.messages.get(channel, []):
            if m.ts == ts:
                return m
        return None

    def post(self, message: Message) -> Message:
        self.ensure_channel(message.channel)
        self.messages[message.channel].append(message)
        if message.thread_ts and message.thread_ts != message.ts:
            parent = self.find(message.channel, message.thread_ts)
            if parent is not None:
                parent.reply_ts.append(message.ts)
        self._emit(self._message_change("message_posted", message))
        return message

    def update(self, message: Message, *, text: str, blocks: list[dict[str, Any]] | None,
               attachments: list[dict[str, Any]] | None) -> Message:
        message.text = text
        if blocks is not None:
            message.blocks = blocks
        if attachments is not None:
            message.attachments = attachments
        message.edited_ts = self.clock.next()
        self._emit(self._message_change("message_updated", message))
        return message

    def delete(self, message: Message) -> None:
        self.messages[message.channel].remove(message)
        if message.thread_ts:
            parent = self.find(message.channel, message.thread_ts)
            if parent is not None and message.ts in parent.reply_ts:
                parent.reply_ts.remove(message.ts)
        self._emit(StateChange("message_deleted", {"channel": message.channel, "ts": message.ts},
                               message.channel, message.ts))

    def react(self, message: Message, name: str, user: str) -> None:
        message.reactions.setdefault(name, []).append(user)
        self._emit(self._message_change("reaction_added", message))

    def post_ephemeral(self, eph: Ephemeral) -> Ephemeral:
        self.ensure_channel(eph.channel)
        self.ephemerals.append(eph)
        self._emit(self._ephemeral_change("ephemeral_posted", eph))
        return eph

    def update_ephemeral(self, eph: Ephemeral, *, text: str, blocks: list[dict[str, Any]]) -> Ephemeral:
        eph.text, eph.blocks = text, blocks
        self._emit(self._ephemeral_change("ephemeral_updated", eph))
        return eph

    def delete_ephemeral(self, eph: Ephemeral) -> None:
        self.ephemerals.remove(eph)
        self._emit(self._ephemeral_change("ephemeral_deleted", eph))

    def _ephemeral_change(self, kind: str, eph: Ephemeral) -> StateChange:
        data = {"channel": eph.channel, "user": eph.user, "ts": eph.message_ts, "text": eph.text,
                "blocks": eph.blocks, "thread_ts": eph.thread_ts}
        return StateChange(kind, data, eph.channel, eph.message_ts, eph.user)

    def _message_change(self, kind: str, m: Message) -> StateChange:
        return StateChange(kind, m.to_slack(self.team_id, self.app_id), m.channel, m.ts, m.user)

    # views -------------------------------------------------------------------------------------------------------
    def view_to_slack(self, view: View) -> dict[str, Any]:
        return view.to_slack(self.team_id, self.app_id, self.bot_id)

    def open_view(self, view: View, kind: str = "view_opened") -> View:
        self.views[view.id] = view
        self._emit(StateChange(kind, self.view_to_slack(view), user=view.user))
        return view

    def replace_view(self, view: View, payload: dict[str, Any]) -> View:
        view.payload = payload
        view.hash = self.new_hash()
        kind = "home_published" if view.type == "home" else "view_updated"
        self._emit(StateChange(kind, self.view_to_slack(view), user=view.user))
        return view

    def publish_home(self, user_id: str, payload: dict[str, Any]) -> View:
        view = self.home_views.get(user_id)
        if view is None:
            view = View(self.new_id("V"), "home", user_id, payload, self.new_hash())
            self.home_views[user_id] = view
            self.views[view.id] = view
            self._emit(StateChange("home_published", self.view_to_slack(view), user=user_id))
            return view
        return self.replace_view(view, payload)

    def close_view(self, view_id: str) -> None:
        """The person closed the modal (or the bot's response cleared it): drop it and the views above it."""
        view = self.views.get(view_id)
        if view is None or not view.is_open:
            return
        view.is_open = False
        self._emit(StateChange("view_closed", {"id": view_id}, user=view.user))

    def open_views_for(self, user_id: str) -> list[View]:
        return [v for v in self.views.values() if v.user == user_id and v.type == "modal" and v.is_open]

    def new_hash(self) -> str:
        return f"{time.time():.6f}.{secrets.token_hex(4)}"

    # files -------------------------------------------------------------------------------------------------------
    def share_file(self, f: UploadedFile, channel: str, thread_ts: str | None, initial_comment: str,
                   file_json: dict[str, Any]) -> Message:
        message = Message(channel=channel, ts=self.clock.next(), text=initial_comment, user=self.bot_user.id,
                          bot_id=self.bot_id, thread_ts=thread_ts, files=[file_json])
        self._emit(StateChange("file_shared", file_json, channel, message.ts, self.bot_user.id))
        return self.post(message)
