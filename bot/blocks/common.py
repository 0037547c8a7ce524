"""Pieces shared by the message builders: phase labels, durations, Temporal UI links, and the `Rendered` value every
builder returns. A link's address, like the progress bar, is drawn as the CLI draws it (baton.render)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baton.render import task_url
from bot.blocks.text import MAX_BLOCKS, MAX_MESSAGE_TEXT, Mrkdwn, to_mrkdwn, truncate

__all__ = [
    "PHASE_LABELS",
    "FileUpload",
    "Rendered",
    "TaskLinks",
    "context",
    "fallback_text",
    "fit_blocks",
    "format_duration",
    "mrkdwn_text",
    "section",
]

Block = dict[str, Any]

PHASE_LABELS: dict[str, str] = {
    "queued": ":hourglass_flowing_sand: Queued",
    "running": ":gear: Running",
    "waiting_for_human": ":raised_hand: Waiting for a decision",
    "completed": ":white_check_mark: Completed",
    "failed": ":x: Failed",
    "cancelled": ":no_entry_sign: Cancelled",
    "timed_out": ":alarm_clock: Timed out",
}


@dataclass(frozen=True)
class FileUpload:
    """Text too large for a message, uploaded to the thread by the notifier."""

    filename: str
    content: str
    title: str


@dataclass(frozen=True)
class Rendered:
    """A message ready for chat.postMessage / chat.update: fallback text, blocks, and files to attach."""

    text: Mrkdwn
    blocks: list[Block]
    uploads: list[FileUpload] = field(default_factory=list)


@dataclass(frozen=True)
class TaskLinks:
    """Where a task can be inspected; no UI configured means no link (never a broken one)."""

    temporal_ui_url: str | None = None
    namespace: str = "default"

    def task_url(self, task_id: str) -> str | None:
        return task_url(self.temporal_ui_url, self.namespace, task_id) if self.temporal_ui_url else None


def mrkdwn_text(text: str, limit: int) -> Block:
    """A mrkdwn text object: Mrkdwn as it is, any plain `str` escaped (bot.blocks.text)."""
    return {"type": "mrkdwn", "text": truncate(to_mrkdwn(text), limit)}


def section(text: str, limit: int = 3000) -> Block:
    """A mrkdwn section; plain `str` is escaped, so Baton's own markup must come in as Mrkdwn."""
    return {"type": "section", "text": mrkdwn_text(text, limit)}


def context(*texts: str) -> Block:
    parts = [p for p in texts if p][:10]
    return {"type": "context", "elements": [mrkdwn_text(p, 2000) for p in parts]}


def fit_blocks(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """At most `limit` blocks: the tail is replaced by a note so the message still posts (Slack refuses it else).

    The last actions block is kept, since losing the buttons would strand a decision.
    """
    if len(blocks) <= limit:
        return blocks
    actions = [b for b in blocks if b.get("type") == "actions"][-1:]
    room = limit - 1 - len(actions)
    omitted = len(blocks) - room - len(actions)
    note = context(f"_{omitted} more blocks omitted_")
    return [*[b for b in blocks[:room]], note, *actions]


def fallback_text(text: str) -> Mrkdwn:
    """The notification text (push, screen readers): escaped unless Mrkdwn, one short paragraph."""
    return truncate(to_mrkdwn(text), MAX_MESSAGE_TEXT)


def format_duration(start: datetime | None, end: datetime) -> str:
    """`3m 12s`, `2h 05m`, `1d 4h`: precise enough for a person glancing at a thread."""
    if start is None:
        return "–"
    seconds = max(0, int((end - start).total_seconds()))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
