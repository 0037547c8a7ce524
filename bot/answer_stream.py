"""The streaming writer: one answer into its Slack thread as the model writes it, whole and exactly once.

    add(delta) ... add(delta)    chat.startStream with the first words, then chat.appendStream at most once per
                                 `every_s` (the deltas in between are coalesced: appendStream is tier 4, 100+ calls a
                                 minute per workspace, startStream and stopStream tier 2)
    finish()                     the rest, then chat.stopStream with the metadata naming the event

Bounds: each call carries at most 12,000 characters of markdown_text, and each message at most `message_limit`
(Slack's 12,000 for markdown in one message): a longer answer is stopped there (its metadata marks it a part) and
continues in a new streamed message; so does an answer still streaming after ROTATE_AFTER_S, before Slack would end
the stream.

Whatever fails, the person gets the whole answer once:
* startStream refused before anything showed (unknown_method, not_allowed, a workspace without the feature...):
  the answer is posted, as before streaming;
* a later call fails (the stream expired: message_not_in_streaming_state; an error, a network fault): streaming
  stops, and at the end the message that was streaming is rewritten by chat.update with its whole part, and what does
  not fit follows in new messages;
* the person stops the stream (Slack's stop control: stopped_by_user): nothing more is sent, that is their answer;
* the activity dies mid-stream: every message ts goes to `on_messages` (the activity heartbeats it), and the retried
  attempt calls `replace(recorded, text)`: those messages are stopped and rewritten, none posted twice.

What is streamed is what would be posted: the text scrubbed of secrets (baton.redaction), then made inert for
markdown (bot.blocks.markdown). Only whole words are streamed (up to the last whitespace), and the whole text so far
is scrubbed again each time: should scrubbing ever change text already sent, the message is rewritten instead.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from baton.redaction import scrub
from bot.blocks.markdown import inert_markdown

__all__ = ["APPEND_EVERY_S", "MAX_CALL_MARKDOWN", "MAX_MESSAGE_MARKDOWN", "REPLY_EVENT", "ROTATE_AFTER_S",
           "AnswerWriter", "StreamTarget", "reply_metadata"]

log = logging.getLogger(__name__)

REPLY_EVENT = "baton_reply"
"""The metadata event_type on Baton's answers in a conversation."""
MAX_CALL_MARKDOWN = 12_000
"""Slack's limit on markdown_text in one chat.*Stream call."""
MAX_MESSAGE_MARKDOWN = 12_000
"""Slack's cumulative limit on markdown in one message; past it an answer continues in a new message."""
ROTATE_AFTER_S = 240.0
"""Slack ends a stream about five minutes after its start (appends do not extend it; undocumented, observed): a stream
this old is stopped as a part and the answer continues in a new one, before Slack refuses it."""
APPEND_EVERY_S = 1.0
"""At most one appendStream per second per answer: well inside tier 4 (100+ a minute) with a few answers at once,
and still a steady flow of words."""
_FAILURES = (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError)


def reply_metadata(event_id: str, notice: bool = False, part: int | None = None) -> dict[str, Any]:
    """Slack message metadata marking Baton's answer (or notice) to the event `event_id`; `part` marks a message an
    answer continues after (the last message carries no part: finding it means the answer is whole)."""
    payload: dict[str, Any] = {"event_id": event_id}
    if notice:
        payload["notice"] = True
    if part is not None:
        payload["part"] = part
    return {"event_type": REPLY_EVENT, "event_payload": payload}


@dataclass(frozen=True)
class StreamTarget:
    """Where an answer goes and whom it answers (chat.startStream wants the recipient outside DMs)."""

    channel_id: str
    thread_ts: str
    team_id: str
    user_id: str
    event_id: str


@dataclass
class _Open:
    ts: str
    start: int
    """Where this message's text starts in the answer's display text."""
    since: float


class AnswerWriter:
    def __init__(self, client: AsyncWebClient, target: StreamTarget, *,
                 on_messages: Callable[[list[str]], None] = lambda ts: None, every_s: float | None = None,
                 message_limit: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._to = target
        self._on_messages = on_messages
        self._every_s = APPEND_EVERY_S if every_s is None else every_s
        self._limit = min(message_limit or MAX_MESSAGE_MARKDOWN, MAX_MESSAGE_MARKDOWN)
        self._clock = clock
        self._raw = ""
        self._sent = ""
        """The display text Slack has accepted so far, across every message of this answer."""
        self._open: _Open | None = None
        self._closed_to = 0
        self._last_call = -math.inf
        self._mode = "stream"
        self.messages: list[str] = []
        """The ts of every message this answer made, in order."""
        self.calls = 0
        """Slack calls this answer made (the bench's figure)."""

    @property
    def text(self) -> str:
        return self._raw

    @property
    def streamed(self) -> bool:
        """Whether Slack took a stream for this answer (False: it was, or will be, posted)."""
        return self._mode != "post"

    async def add(self, delta: str) -> None:
        """More of the answer; sent now if the last call is `every_s` old, else with the next one."""
        self._raw += delta
        if self._mode == "stream" and self._clock() - self._last_call >= self._every_s:
            await self._flush(final=False)

    async def finish(self, text: str | None = None) -> None:
        """The answer is complete (`text` replaces what was added, e.g. when nothing was streamed): send the rest."""
        if text is not None and text != self._raw:
            self._raw = text
        if self._mode == "stream":
            await self._flush(final=True)
        if self._mode == "post":
            await self._replace([], self._display(self._raw))
        elif self._mode == "repair":
            start = self._open.start if self._open is not None else self._closed_to
            await self._replace([self._open.ts] if self._open is not None else [],
                                self._display(self._raw)[start:])

    async def replace(self, recorded: Sequence[str], text: str) -> None:
        """A retried attempt: the messages an earlier one made (`recorded`) now say `text`, the rest is posted."""
        self._raw, self._mode = text, "repair"
        self.messages = list(recorded)
        await self._replace(list(recorded), self._display(text))

    # streaming -------------------------------------------------------------------------------------------------------
    def _display(self, raw: str) -> str:
        return inert_markdown(scrub(raw))

    async def _flush(self, *, final: bool) -> None:
        cut = len(self._raw) if final else _last_word_end(self._raw)
        display = self._display(self._raw[:cut])
        if not display.startswith(self._sent):
            log.warning("Scrubbing changed text already streamed to %s; rewriting it", self._to.channel_id)
            self._mode = "repair"
            return
        try:
            while len(self._sent) < len(display):
                used = len(self._sent) - (self._open.start if self._open is not None else len(self._sent))
                rest = display[len(self._sent):]
                piece = _head(rest, min(self._limit - used, MAX_CALL_MARKDOWN))
                if self._open is not None and self._clock() - self._open.since >= ROTATE_AFTER_S:
                    piece = ""
                if not piece:
                    await self._stop(final=False)
                elif final and self._open is not None and piece == rest:  # the last words go with the stop
                    await self._stop(final=True, text=piece)
                    self._sent += piece
                    return
                else:
                    await (self._start(piece) if self._open is None else self._append(piece))
                    self._sent += piece
            if final and self._open is not None:
                await self._stop(final=True)
        except _FAILURES as exc:
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
            if reason == "stopped_by_user":  # the person pressed stop: the answer ends where they stopped it
                log.info("The person stopped the answer in %s/%s", self._to.channel_id, self._to.thread_ts)
                self._mode = "stopped"
                return
            self._mode = "repair" if self.messages else "post"
            log.info("Streaming to %s/%s stopped (%s); the answer will be %s", self._to.channel_id,
                     self._to.thread_ts, reason, "rewritten" if self.messages else "posted")

    async def _start(self, piece: str) -> None:
        self.calls += 1
        response = await self._client.chat_startStream(
            channel=self._to.channel_id, thread_ts=self._to.thread_ts, markdown_text=piece,
            recipient_team_id=self._to.team_id, recipient_user_id=self._to.user_id)
        self._last_call = self._clock()
        self._open = _Open(str(response["ts"]), len(self._sent), self._last_call)
        self._made(self._open.ts)

    async def _append(self, piece: str) -> None:
        assert self._open is not None
        self.calls += 1
        await self._client.chat_appendStream(channel=self._to.channel_id, ts=self._open.ts, markdown_text=piece)
        self._last_call = self._clock()

    async def _stop(self, *, final: bool, text: str | None = None) -> None:
        assert self._open is not None
        self.calls += 1
        part = None if final else len(self.messages)
        await self._client.chat_stopStream(channel=self._to.channel_id, ts=self._open.ts, markdown_text=text,
                                           metadata=reply_metadata(self._to.event_id, part=part))
        self._last_call = self._clock()
        self._closed_to = len(self._sent) + len(text or "")
        self._open = None

    def _made(self, ts: str) -> None:
        self.messages.append(ts)
        self._on_messages(list(self.messages))

    # rewriting -------------------------------------------------------------------------------------------------------
    async def _replace(self, existing: list[str], display: str) -> None:
        """`existing` messages rewritten with `display` cut to the message limit; extra pieces posted, extra messages
        deleted; the last message carries the metadata saying the answer is whole."""
        pieces = _pieces(display or inert_markdown("Done."), self._limit)
        for i, piece in enumerate(pieces):
            part = None if i == len(pieces) - 1 else i + 1
            metadata = reply_metadata(self._to.event_id, part=part)
            if i < len(existing) and await self._rewrite(existing[i], piece, metadata):
                continue
            self.calls += 1
            response = await self._client.chat_postMessage(
                channel=self._to.channel_id, thread_ts=self._to.thread_ts, text=piece,
                blocks=[{"type": "markdown", "text": piece}], metadata=metadata)
            self._made(str(response["ts"]))
        for ts in existing[len(pieces):]:
            await self._stop_quietly(ts)
            self.calls += 1
            await self._client.chat_delete(channel=self._to.channel_id, ts=ts)

    async def _rewrite(self, ts: str, piece: str, metadata: dict[str, Any]) -> bool:
        """Message `ts` says `piece` from now on; False when it is gone (the piece is then posted)."""
        await self._stop_quietly(ts)
        self.calls += 1
        try:
            await self._client.chat_update(channel=self._to.channel_id, ts=ts, text=piece,
                                           blocks=[{"type": "markdown", "text": piece}], metadata=metadata)
        except SlackApiError as exc:
            if exc.response.get("error") == "message_not_found":
                return False
            raise
        return True

    async def _stop_quietly(self, ts: str) -> None:
        """End a stream that may still be open (a crashed attempt's); one already over says so, which is fine."""
        self.calls += 1
        try:
            await self._client.chat_stopStream(channel=self._to.channel_id, ts=ts)
        except SlackApiError as exc:
            log.debug("chat.stopStream on %s: %s", ts, exc.response.get("error"))


def _last_word_end(raw: str) -> int:
    """Where the last whole word ends (after the last whitespace): only whole words are streamed before the end."""
    for i in range(len(raw) - 1, -1, -1):
        if raw[i].isspace():
            return i + 1
    return 0


def _head(display: str, room: int) -> str:
    """The longest head of `display` within `room` that cuts no escape apart (an entity, a `]` or `@` and the
    invisible character after it)."""
    if room <= 0:
        return ""
    if len(display) <= room:
        return display
    cut = room
    amp = display.rfind("&", max(0, cut - 4), cut)
    if amp != -1 and ";" not in display[amp:cut]:
        cut = amp
    if cut < len(display) and display[cut] in "\u200b\u2060":
        cut -= 1
    return display[:cut]


def _pieces(display: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while display:
        head = _head(display, limit) or display[:limit]
        pieces.append(head)
        display = display[len(head):]
    return pieces
