"""The Slack Web API methods the fake answers, in the shapes Slack documents (docs.slack.dev/reference/methods).

Each method reads already-parsed arguments and returns the JSON body; `SlackError` becomes `{"ok": false, ...}`.
HTTP, auth, recording and fault injection live in fake_slack.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sandbox.block_limits import MAX_MESSAGE_BLOCKS, MAX_TEXT_CHARS, MAX_VIEW_BLOCKS, block_errors
from sandbox.fake_agent_sessions import AgentSessions
from sandbox.fake_assistant import AssistantMethods
from sandbox.fake_streams import FakeStreams
from sandbox.workspace import Ephemeral, Message, UploadedFile, View, Workspace

__all__ = ["APP_TOKEN_METHODS", "SlackError", "WebApiMethods"]

Handler = Callable[[dict[str, Any]], dict[str, Any]]
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
"""Methods Slack authenticates with the app-level token (xapp-...) instead of the bot token."""


class SlackError(Exception):
    """A Slack `ok: false` answer; `messages` go to response_metadata.messages like Slack's validation errors."""

    def __init__(self, error: str, messages: list[str] | None = None, retry_after: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.retry_after = retry_after
        """Set for a rate-limited call: the fake answers 429 with this Retry-After."""

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            out["response_metadata"] = {"messages": self.messages}
        return out


def _json_arg(args: dict[str, Any], key: str) -> Any:
    """Form-encoded calls carry blocks/view/files as JSON strings; JSON calls carry them as objects."""
    value = args.get(key)
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise SlackError("invalid_arguments", [f"[ERROR] invalid JSON [json-pointer:/{key}]"]) from exc
    return value


def _require(args: dict[str, Any], key: str, error: str = "invalid_arguments") -> str:
    value = args.get(key)
    if value is None or value == "":
        raise SlackError(error, [f"[ERROR] missing required field: {key}"])
    return str(value)


class WebApiMethods:
    """Method name -> handler over one Workspace; `file_url(path)` makes URLs served by the same fake."""

    def __init__(self, ws: Workspace, file_url: Callable[[str], str]) -> None:
        self.ws = ws
        self._file_url = file_url
        self.refused_block_types: set[str] = set()
        """Block types answered as unknown (invalid_blocks), as a workspace or client without them would."""
        self.open_socket: Callable[[], str] | None = None
        """Set by sandbox.socket_mode while a fake Socket Mode server is attached: mints a one-use ws:// URL."""
        self.handlers: dict[str, Handler] = {
            "auth.test": self.auth_test,
            "apps.connections.open": self.apps_connections_open,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.delete": self.chat_delete,
            "chat.getPermalink": self.chat_get_permalink,
            "views.open": self.views_open,
            "views.update": self.views_update,
            "views.push": self.views_push,
            "views.publish": self.views_publish,
            "users.info": self.users_info,
            "usergroups.users.list": self.usergroups_users_list,
            "conversations.replies": self.conversations_replies,
            "conversations.history": self.conversations_history,
            "conversations.members": self.conversations_members,
            "reactions.add": self.reactions_add,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }
        self.assistant = AssistantMethods(ws)
        """The assistant pane's methods and what each thread's pane shows (sandbox.fake_assistant)."""
        self.handlers.update(self.assistant.handlers)
        self.streams = FakeStreams(ws, SlackError)
        """chat.startStream / appendStream / stopStream and their test switches (sandbox.fake_streams)."""
        self.handlers.update(self.streams.handlers)
        self.sessions = AgentSessions(ws)
        """agents.sessions.setStatus and each thread's session status (sandbox.fake_agent_sessions)."""
        self.handlers.update(self.sessions.handlers)

    # helpers -----------------------------------------------------------------------------------------------------
    def _slack(self, m: Message) -> dict[str, Any]:
        return m.to_slack(self.ws.team_id, self.ws.app_id)

    def _content(self, args: dict[str, Any], *,
                 required: bool = True) -> tuple[str, list[Any] | None, list[Any] | None]:
        text = args.get("text") or ""
        blocks = _json_arg(args, "blocks")
        attachments = _json_arg(args, "attachments")
        if required and not text and not blocks and not attachments:
            raise SlackError("no_text")
        if len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        if blocks is not None:
            errors = block_errors(blocks, MAX_MESSAGE_BLOCKS, self.refused_block_types)
            if errors:
                raise SlackError("invalid_blocks", errors)
        return str(text), blocks, attachments

    def _channel(self, args: dict[str, Any], key: str = "channel") -> str:
        channel = _require(args, key, "channel_not_found")
        if channel.startswith("#"):
            by_name = {name: cid for cid, name in self.ws.channels.items()}
            if channel[1:] not in by_name:
                raise SlackError("channel_not_found")
            channel = by_name[channel[1:]]
        return channel

    def _message(self, channel: str, ts: str) -> Message:
        m = self.ws.find(channel, ts)
        if m is None:
            raise SlackError("message_not_found")
        return m

    def _view_payload(self, args: dict[str, Any], kind: str) -> dict[str, Any]:
        payload = _json_arg(args, "view")
        if not isinstance(payload, dict) or payload.get("type") != kind:
            raise SlackError("invalid_arguments", [f"[ERROR] must provide a {kind} view [json-pointer:/view]"])
        errors = block_errors(payload.get("blocks", []), MAX_VIEW_BLOCKS)
        if kind == "modal" and not isinstance(payload.get("title"), dict):
            errors.append("[ERROR] missing required field: title [json-pointer:/view/title]")
        if errors:
            raise SlackError("invalid_arguments", [e.replace("json-pointer:/blocks", "json-pointer:/view/blocks")
                                                   for e in errors])
        return payload

    # auth / chat -------------------------------------------------------------------------------------------------
    def auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        ws = self.ws
        return {"ok": True, "url": f"https://{ws.team_domain}.slack.com/", "team": ws.team_domain,
                "user": ws.bot_user.name, "team_id": ws.team_id, "user_id": ws.bot_user.id, "bot_id": ws.bot_id,
                "is_enterprise_install": False}

    def apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        """Socket Mode's WebSocket URL; refused like an app without Socket Mode when no fake server is attached."""
        if self.open_socket is None:
            raise SlackError("access_denied")
        return {"ok": True, "url": self.open_socket()}

    def chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        text, blocks, attachments = self._content(args)
        thread_ts = args.get("thread_ts") or None
        metadata = _json_arg(args, "metadata")
        m = self.ws.post(Message(channel=channel, ts=self.ws.clock.next(), text=text, user=self.ws.bot_user.id,
                                 blocks=blocks or [], attachments=attachments or [], thread_ts=thread_ts,
                                 bot_id=self.ws.bot_id, metadata=metadata if isinstance(metadata, dict) else None))
        return {"ok": True, "channel": channel, "ts": m.ts, "message": self._slack(m)}

    def chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        m = self._message(channel, _require(args, "ts", "message_not_found"))
        if m.bot_id != self.ws.bot_id:
            raise SlackError("cant_update_message")
        text, blocks, attachments = self._content(args, required=False)
        if not text and blocks is None and attachments is None:
            raise SlackError("no_text")
        metadata = _json_arg(args, "metadata")
        if isinstance(metadata, dict):  # chat.update replaces the message's metadata when given (bolt's assistant
            m.metadata = metadata       # thread context store keeps the pane's channel context there)
        self.ws.update(m, text=text, blocks=blocks, attachments=attachments)
        return {"ok": True, "channel": channel, "ts": m.ts, "text": m.text, "message": self._slack(m)}

    def chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        user = _require(args, "user", "user_not_found")
        if user not in self.ws.users:
            raise SlackError("user_not_in_channel")
        text, blocks, _ = self._content(args)
        eph = self.ws.post_ephemeral(Ephemeral(channel=channel, user=user, message_ts=self.ws.clock.next(),
                                               text=text, blocks=blocks or [],
                                               thread_ts=args.get("thread_ts") or None))
        return {"ok": True, "message_ts": eph.message_ts}

    def chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        m = self._message(channel, _require(args, "ts", "message_not_found"))
        if m.bot_id != self.ws.bot_id:
            raise SlackError("cant_delete_message")
        self.ws.delete(m)
        return {"ok": True, "channel": channel, "ts": m.ts}

    def chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        m = self._message(channel, _require(args, "message_ts", "message_not_found"))
        link = f"https://{self.ws.team_domain}.slack.com/archives/{channel}/p{m.ts.replace('.', '')}"
        if m.thread_ts and m.thread_ts != m.ts:
            link += f"?thread_ts={m.thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    # views -------------------------------------------------------------------------------------------------------
    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = _require(args, "trigger_id", "invalid_trigger_id")
        payload = self._view_payload(args, "modal")
        view = View(self.ws.new_id("V"), "modal", self.ws.triggers.get(trigger), payload, self.ws.new_hash(),
                    trigger_id=trigger)
        self.ws.open_view(view)
        return {"ok": True, "view": self.ws.view_to_slack(view)}

    def views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = _require(args, "trigger_id", "invalid_trigger_id")
        payload = self._view_payload(args, "modal")
        user = self.ws.triggers.get(trigger)
        below = self.ws.open_views_for(user)[-1:] if user else []
        view = View(self.ws.new_id("V"), "modal", user, payload, self.ws.new_hash(), trigger_id=trigger,
                    root_view_id=below[0].root_view_id or below[0].id if below else None,
                    previous_view_id=below[0].id if below else None)
        self.ws.open_view(view, "view_pushed")
        return {"ok": True, "view": self.ws.view_to_slack(view)}

    def views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = args.get("view_id"), args.get("external_id")
        if view_id:
            view = self.ws.views.get(str(view_id))
        elif external_id:
            view = next((v for v in self.ws.views.values() if v.payload.get("external_id") == external_id), None)
        else:
            raise SlackError("invalid_arguments", ["[ERROR] view_id or external_id is required"])
        if view is None:
            raise SlackError("not_found")
        payload = self._view_payload(args, view.type)
        if args.get("hash") and args["hash"] != view.hash:
            raise SlackError("hash_conflict")
        self.ws.replace_view(view, payload)
        return {"ok": True, "view": self.ws.view_to_slack(view)}

    def views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = _require(args, "user_id", "user_not_found")
        if user not in self.ws.users:
            raise SlackError("user_not_found")
        payload = self._view_payload(args, "home")
        current = self.ws.home_views.get(user)
        if current is not None and args.get("hash") and args["hash"] != current.hash:
            raise SlackError("hash_conflict")
        view = self.ws.publish_home(user, payload)
        return {"ok": True, "view": self.ws.view_to_slack(view)}

    # people ------------------------------------------------------------------------------------------------------
    def users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.ws.users.get(_require(args, "user", "user_not_found"))
        if user is None:
            raise SlackError("user_not_found")
        return {"ok": True, "user": user.to_slack(self.ws.team_id)}

    def usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = self.ws.usergroups.get(_require(args, "usergroup", "no_such_subteam"))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": list(group.users)}

    # conversations -----------------------------------------------------------------------------------------------
    def _known_channel(self, args: dict[str, Any]) -> str:
        channel = self._channel(args)
        if channel not in self.ws.channels:
            raise SlackError("channel_not_found")
        return channel

    def conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_channel(args)
        parent = self.ws.find(channel, _require(args, "ts", "thread_not_found"))
        if parent is None:
            raise SlackError("thread_not_found")
        root = parent.thread_ts or parent.ts
        thread = [m for m in self.ws.messages[channel] if m.ts == root or m.thread_ts == root]
        return self._page(args, thread, newest_first=False)

    def conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._known_channel(args)
        top = [m for m in self.ws.messages[channel] if not m.thread_ts or m.thread_ts == m.ts]
        page = self._page(args, top, newest_first=True)
        page["pin_count"] = 0
        return page

    def conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        """Slack's cursor pagination (`limit` up to 1,000, `next_cursor` empty on the last page)."""
        members = self.ws.members_of(self._known_channel(args))
        start = int(args.get("cursor") or 0)
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        more = start + limit < len(members)
        return {"ok": True, "members": members[start:start + limit],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _page(self, args: dict[str, Any], messages: list[Message], *, newest_first: bool) -> dict[str, Any]:
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        inclusive = str(args.get("inclusive", "0")).lower() in ("1", "true")
        chosen = [m for m in messages
                  if (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)]
        if newest_first:
            chosen.reverse()
        start = int(args.get("cursor") or 0)
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        window = chosen[start:start + limit]
        more = start + limit < len(chosen)
        return {"ok": True, "messages": [self._slack(m) for m in window], "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        name = _require(args, "name", "invalid_name")
        m = self._message(channel, _require(args, "timestamp", "message_not_found"))
        if self.ws.bot_user.id in m.reactions.get(name, []):
            raise SlackError("already_reacted")
        self.ws.react(m, name, self.ws.bot_user.id)
        return {"ok": True}

    # files (files_upload_v2: getUploadURLExternal -> POST upload_url -> completeUploadExternal) ----------------
    def files_get_upload_url_external(self, args: dict[str, Any]) -> dict[str, Any]:
        filename = _require(args, "filename")
        length = int(_require(args, "length"))
        f = UploadedFile(self.ws.new_id("F"), filename, length, created=int(time.time()))
        self.ws.files[f.id] = f
        return {"ok": True, "upload_url": self._file_url(f"upload/{f.id}"), "file_id": f.id}

    def file_json(self, f: UploadedFile) -> dict[str, Any]:
        content = f.content or b""
        url = self._file_url(f"files/{f.id}/{f.filename}")
        return {"id": f.id, "created": f.created, "timestamp": f.created, "name": f.filename,
                "title": f.title or f.filename, "mimetype": _mimetype(f.filename), "filetype": _filetype(f.filename),
                "user": self.ws.bot_user.id, "size": len(content), "mode": "hosted", "is_external": False,
                "is_public": True, "url_private": url, "url_private_download": url, "permalink": url,
                "channels": list(f.channels), "shares": {}}

    def files_complete_upload_external(self, args: dict[str, Any]) -> dict[str, Any]:
        items = _json_arg(args, "files")
        if not isinstance(items, list) or not items:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: files"])
        channel = args.get("channel_id") or (str(args.get("channels") or "").split(",")[0] or None)
        found: list[UploadedFile] = []
        for item in items:
            f = self.ws.files.get(str(item.get("id"))) if isinstance(item, dict) else None
            if f is None or f.content is None:
                raise SlackError("file_not_found")
            f.title = str(item.get("title") or f.filename)
            found.append(f)
        for i, f in enumerate(found):
            if channel:
                f.channels.append(str(channel))
                comment = str(args.get("initial_comment") or "") if i == 0 else ""
                self.ws.share_file(f, str(channel), args.get("thread_ts") or None, comment, self.file_json(f))
        return {"ok": True, "files": [self.file_json(f) for f in found]}


def _filetype(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else "text"


def _mimetype(filename: str) -> str:
    return {"txt": "text/plain", "md": "text/markdown", "json": "application/json", "csv": "text/csv",
            "png": "image/png", "pdf": "application/pdf"}.get(_filetype(filename), "application/octet-stream")
