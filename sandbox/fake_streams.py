"""Slack's text streaming on the fake workspace: `chat.startStream`, `chat.appendStream`, `chat.stopStream`.

A stream is a real thread message whose text grows with every call, so tests (and the browser sandbox) read it like
any other answer. The documented rules are kept (docs.slack.dev/reference/methods/chat.startStream, .appendStream,
.stopStream): `markdown_text` at most 12,000 characters per call, `markdown_text` or `chunks` but not both, recipient
team and user required outside DMs, a stopped or expired stream refuses with `message_not_in_streaming_state`, and a
stream lives about five minutes (Slack does not document it; `lifetime_s`, or `expire()` at once). Each method's rate
tier (startStream and stopStream tier 2, appendStream tier 4) can be enforced per method with `limit()`: past it the
call answers 429 with Retry-After, so a writer's throttling is testable. `refuse` makes startStream fail as a
workspace without the feature would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.workspace import Message, StateChange, Workspace

__all__ = ["MAX_MARKDOWN_TEXT", "RATE_TIERS", "STREAM_CHANGED", "STREAM_LIFETIME_S", "FakeStreams"]

MAX_MARKDOWN_TEXT = 12_000
"""Slack's limit on `markdown_text` in each stream call."""
STREAM_LIFETIME_S = 300.0
"""How long Slack keeps a message streaming (observed: about 5 minutes from the start, appends do not extend it)."""
RATE_TIERS: dict[str, int] = {"chat.startStream": 2, "chat.appendStream": 4, "chat.stopStream": 2}
"""The documented rate tier of each method: tier 2 is 20+ calls a minute, tier 4 100+."""
STREAM_CHANGED = "stream_changed"
"""The StateChange kind announced when a message starts or stops streaming ({"streaming": bool}), for live views (the
sandbox page's typing caret): announced after startStream's post, and before stopStream's last update."""

Handler = Callable[[dict[str, Any]], dict[str, Any]]
Fail = Callable[[str, list[str] | None, int | None], Exception]


@dataclass
class _Stream:
    channel: str
    ts: str
    started: float
    mode: str
    """"markdown_text" or "chunks": Slack refuses mixing them within one stream (streaming_mode_mismatch)."""
    open: bool = True
    stopped_by_user: bool = False


@dataclass
class _Window:
    calls: list[float] = field(default_factory=list)


class FakeStreams:
    """The three methods over one Workspace; `fail(error, messages, retry_after)` builds the fake's error."""

    def __init__(self, ws: Workspace, fail: Fail, clock: Callable[[], float] = time.monotonic) -> None:
        self.ws = ws
        self._fail = fail
        self._clock = clock
        self.lifetime_s = STREAM_LIFETIME_S
        self.refuse: str | None = None
        """When set (e.g. "not_allowed", "invalid_arguments"), every chat.startStream answers this error."""
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._limits: dict[str, tuple[int, float]] = {}
        self._windows: dict[str, _Window] = {}
        self.handlers: dict[str, Handler] = {
            "chat.startStream": self.start,
            "chat.appendStream": self.append,
            "chat.stopStream": self.stop,
        }

    # test controls -------------------------------------------------------------------------------------------------
    def limit(self, method: str, calls: int, per_s: float = 60.0) -> None:
        """Enforce `calls` per `per_s` seconds on `method` (Slack's tiers: 20/min for tier 2, 100/min for tier 4)."""
        self._limits[method] = (calls, per_s)

    def expire(self, channel: str | None = None, ts: str | None = None) -> None:
        """End streams now, as Slack does when one outlives its lifetime: later appends and stops are refused."""
        for (c, t), stream in self._streams.items():
            if (channel is None or c == channel) and (ts is None or t == ts) and stream.open:
                stream.open = False
                self._announce(stream)

    def stop_by_user(self, channel: str, ts: str) -> None:
        """The person pressed the stream's stop control: later appends and stops answer `stopped_by_user`."""
        stream = self._streams[(channel, ts)]
        stream.open, stream.stopped_by_user = False, True
        self._announce(stream)

    def streaming(self, channel: str, ts: str) -> bool:
        stream = self._streams.get((channel, ts))
        return stream is not None and self._alive(stream)

    # methods -------------------------------------------------------------------------------------------------------
    def start(self, args: dict[str, Any]) -> dict[str, Any]:
        self._count("chat.startStream")
        if self.refuse:
            raise self._fail(self.refuse, None, None)
        channel = self._channel(args)
        thread_ts = self._required(args, "thread_ts")
        if not channel.startswith("D"):
            if not args.get("recipient_team_id"):
                raise self._fail("missing_recipient_team_id", None, None)
            if not args.get("recipient_user_id"):
                raise self._fail("missing_recipient_user_id", None, None)
            if args["recipient_user_id"] not in self.ws.users:
                raise self._fail("user_not_found", None, None)
        mode, text = self._content(args, required=False)
        m = self.ws.post(Message(channel=channel, ts=self.ws.clock.next(), text=text, user=self.ws.bot_user.id,
                                 thread_ts=thread_ts, bot_id=self.ws.bot_id))
        self._streams[(channel, m.ts)] = stream = _Stream(channel, m.ts, self._clock(), mode or "markdown_text")
        self._announce(stream)
        return {"ok": True, "channel": channel, "ts": m.ts}

    def append(self, args: dict[str, Any]) -> dict[str, Any]:
        self._count("chat.appendStream")
        m, stream = self._open(args)
        mode, text = self._content(args, required=True)
        if mode != stream.mode:
            raise self._fail("streaming_mode_mismatch", None, None)
        self.ws.update(m, text=m.text + text, blocks=None, attachments=None)
        return {"ok": True, "channel": m.channel, "ts": m.ts}

    def stop(self, args: dict[str, Any]) -> dict[str, Any]:
        self._count("chat.stopStream")
        m, stream = self._open(args)
        mode, text = self._content(args, required=False)
        if mode is not None and mode != stream.mode:
            raise self._fail("streaming_mode_mismatch", None, None)
        metadata = _json(args.get("metadata"))
        if isinstance(metadata, dict):
            m.metadata = metadata
        blocks = _json(args.get("blocks"))
        stream.open = False
        self._announce(stream)
        self.ws.update(m, text=m.text + text, blocks=blocks if isinstance(blocks, list) else None, attachments=None)
        return {"ok": True, "channel": m.channel, "ts": m.ts, "message": m.to_slack(self.ws.team_id, self.ws.app_id)}

    # helpers -------------------------------------------------------------------------------------------------------
    def _announce(self, stream: _Stream) -> None:
        self.ws.announce(StateChange(STREAM_CHANGED, {"streaming": stream.open}, stream.channel, stream.ts))

    def _alive(self, stream: _Stream) -> bool:
        return stream.open and self._clock() - stream.started < self.lifetime_s

    def _open(self, args: dict[str, Any]) -> tuple[Message, _Stream]:
        channel = self._channel(args)
        ts = self._required(args, "ts")
        m = self.ws.find(channel, ts)
        if m is None:
            raise self._fail("message_not_found", None, None)
        if m.bot_id != self.ws.bot_id:
            raise self._fail("message_not_owned_by_app", None, None)
        stream = self._streams.get((channel, ts))
        if stream is not None and stream.stopped_by_user:
            raise self._fail("stopped_by_user", None, None)
        if stream is None or not self._alive(stream):
            raise self._fail("message_not_in_streaming_state", None, None)
        return m, stream

    def _channel(self, args: dict[str, Any]) -> str:
        channel = str(args.get("channel") or "")
        if channel not in self.ws.channels and channel[:1] not in ("C", "G", "D"):  # an id, as chat.postMessage
            raise self._fail("channel_not_found", None, None)
        self.ws.ensure_channel(channel)
        return channel

    def _required(self, args: dict[str, Any], key: str) -> str:
        value = args.get(key)
        if not value:
            raise self._fail("invalid_arguments", [f"[ERROR] missing required field: {key}"], None)
        return str(value)

    def _content(self, args: dict[str, Any], *, required: bool) -> tuple[str | None, str]:
        """The call's mode and the markdown it adds: `markdown_text`, or the text of its markdown_text chunks."""
        markdown, chunks = args.get("markdown_text"), _json(args.get("chunks"))
        if markdown and chunks:
            raise self._fail("cannot_provide_both_markdown_text_and_chunks", None, None)
        if chunks:
            if not isinstance(chunks, list) or not all(isinstance(c, dict) and c.get("type") for c in chunks):
                raise self._fail("invalid_chunks", None, None)
            text = "".join(str(c.get("text") or "") for c in chunks if c.get("type") == "markdown_text")
            mode: str | None = "chunks"
        elif markdown:
            text, mode = str(markdown), "markdown_text"
        elif required:
            raise self._fail("markdown_text_or_chunks_required", None, None)
        else:
            text, mode = "", None
        if len(text) > MAX_MARKDOWN_TEXT:
            raise self._fail("msg_too_long", [f"[ERROR] markdown_text must be at most {MAX_MARKDOWN_TEXT} "
                                              "characters [json-pointer:/markdown_text]"], None)
        return mode, text

    def _count(self, method: str) -> None:
        """Tier accounting: past the configured rate a call is refused with 429 and the seconds to wait."""
        limit = self._limits.get(method)
        if limit is None:
            return
        calls, per_s = limit
        now = self._clock()
        window = self._windows.setdefault(method, _Window())
        window.calls = [t for t in window.calls if now - t < per_s]
        if len(window.calls) >= calls:
            raise self._fail("ratelimited", None, max(1, int(per_s - (now - window.calls[0]) + 0.999)))
        window.calls.append(now)


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value
