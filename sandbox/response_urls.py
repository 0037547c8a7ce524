"""response_url semantics: the URLs the fake hands out in slash commands and clicks, and what a POST to one does.

Slack's rules: `delete_original` deletes the message the click came from, `replace_original` edits it (ephemeral or
not), `response_type: in_channel` posts for everyone, anything else is an ephemeral for the person who acted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sandbox.api_methods import SlackError
from sandbox.block_limits import block_errors
from sandbox.workspace import Ephemeral, Message, Workspace

__all__ = ["ResponseUrl", "ResponseUrls"]


@dataclass(frozen=True)
class ResponseUrl:
    """Where a response_url answers: the channel and person of the request, and the clicked message if any."""

    channel: str
    user: str
    message_ts: str | None
    thread_ts: str | None


class ResponseUrls:
    """The response_urls minted so far (by key) and how a POST to one changes the workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._targets: dict[str, ResponseUrl] = {}

    def mint(self, channel: str, user: str, message_ts: str | None, thread_ts: str | None) -> str:
        key = secrets.token_urlsafe(16)
        self._targets[key] = ResponseUrl(channel, user, message_ts, thread_ts)
        return key

    def get(self, key: str) -> ResponseUrl | None:
        return self._targets.get(key)

    def apply(self, target: ResponseUrl, body: dict[str, Any]) -> None:
        """Slack's response_url semantics: delete_original, replace_original, in_channel, else ephemeral."""
        ws = self.ws
        text, blocks = str(body.get("text") or ""), body.get("blocks")
        if blocks is not None and block_errors(blocks):
            raise SlackError("invalid_blocks", block_errors(blocks))
        eph = next((e for e in ws.ephemerals if e.message_ts == target.message_ts), None)
        if body.get("delete_original") and target.message_ts:
            m = ws.find(target.channel, target.message_ts)
            if m is None and eph is None:
                raise SlackError("message_not_found")
            if m is not None:
                ws.delete(m)
            elif eph is not None:
                ws.delete_ephemeral(eph)
            return
        if not text and not blocks:
            raise SlackError("no_text")
        if body.get("replace_original") and target.message_ts:
            m = ws.find(target.channel, target.message_ts)
            if m is not None:
                ws.update(m, text=text, blocks=blocks or [], attachments=None)
                return
            if eph is not None:
                ws.update_ephemeral(eph, text=text, blocks=blocks or [])
                return
            raise SlackError("message_not_found")
        thread_ts = body.get("thread_ts") or target.thread_ts
        if body.get("response_type") == "in_channel":
            ws.post(Message(channel=target.channel, ts=ws.clock.next(), text=text, user=ws.bot_user.id,
                            blocks=blocks or [], thread_ts=thread_ts, bot_id=ws.bot_id, via_response_url=True))
        else:
            ws.post_ephemeral(Ephemeral(channel=target.channel, user=target.user, message_ts=ws.clock.next(),
                                        text=text, blocks=blocks or [], thread_ts=thread_ts, via_response_url=True))

