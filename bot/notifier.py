"""The `notify` activity: brings a Slack-originated task's thread up to date, run by the bot's Temporal worker.

Temporal delivers it to whichever bot process is alive and retries it through Slack outages. It reads the task's
own `status` at delivery time (so a late delivery shows the latest state), then creates or edits, in the thread:
the status message (one per task, edited in place), a card per checkpoint, the final message (with large texts as
files), and on reminders / escalations a message that mentions the people named. It returns the ts of every
message it owns; the workflow records them and passes them back, so a restarted bot edits instead of posting.

Idempotent when retried: messages carry metadata naming their task and part, and a retried attempt looks for them
in the thread before posting; identical edits are skipped.

It renders only the workflow's own status, never a stand-in built without a worker: that has no pending
checkpoint and would close a live approval card that nothing redraws until the next reminder. While no worker
answers, the activity fails retryably (`TaskBusy`) and Temporal tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from baton.errors import TaskAlreadyFinished, TaskBusy, TaskNotFound
from baton.gateway import StatusWithoutWorker
from bot.agent_sessions import AgentSessions
from bot.blocks import Rendered, TaskLinks, checkpoint_card, decided_card, final_message, status_message
from bot.blocks.plan import plan_status_message
from bot.blocks.text import Mrkdwn, mention, mrkdwn, safe_blocks, slack_text
from bot.heartbeats import attempt, heartbeating
from contracts import CheckpointV1, NotifyInputV1, NotifyResultV1, SlackMessagesV1, TaskStatusV1, names, utc_now
from contracts.checkpoint import split_action_ref

__all__ = ["METADATA_EVENT", "SlackNotifier"]

log = logging.getLogger(__name__)
METADATA_EVENT = "baton_message"
_PERMANENT = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive", "token_revoked",
    "missing_scope", "invalid_blocks", "msg_too_long", "no_permission", "restricted_action",
})
"""Slack errors a retry cannot fix: the activity fails for good instead of retrying for a day."""
_NOT_SUPPORTED = frozenset({"invalid_blocks", "unknown_method", "method_not_supported_for_channel_type"})
"""What a workspace or client without plan blocks answers: the status message is sent again as today's blocks."""
StatusStyle = Literal["plan", "blocks"]


class StatusSource(Protocol):
    async def live_status(self, task_id: str) -> TaskStatusV1:
        """The workflow's own status; raises TaskBusy while no worker answers (see TaskGateway.live_status)."""
        ...


class _Memory:
    """Bounded per-process memory: what each message last showed (to skip identical edits) and what was posted."""

    def __init__(self, size: int = 20_000) -> None:
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._size = size

    def get(self, key: Any) -> Any:
        return self._data.get(key)

    def put(self, key: Any, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self._size:
            self._data.popitem(last=False)


class SlackNotifier:
    def __init__(self, client: AsyncWebClient, tasks: StatusSource, links: TaskLinks,
                 clock: Callable[[], datetime] = utc_now, *, status_style: StatusStyle = "plan",
                 agent_sessions: bool = False) -> None:
        self._client = client
        self._tasks = tasks
        self._links = links
        self._clock = clock
        self.status_style: StatusStyle = status_style
        """`plan` (bot.blocks.plan, falling back per channel) or `blocks` (bot.blocks.status)."""
        self._memory = _Memory()
        self.sessions = AgentSessions(client, self._memory, enabled=agent_sessions)
        self._locks: dict[str, asyncio.Lock] = {}

    @activity.defn(name=names.NOTIFY_ACTIVITY)
    async def notify(self, note: NotifyInputV1) -> NotifyResultV1:
        async with heartbeating("baton-notify-heartbeat"):
            return await self._notify(note)

    async def _notify(self, note: NotifyInputV1) -> NotifyResultV1:
        try:
            status = await self._tasks.live_status(note.task_id)
        except (TaskNotFound, TaskAlreadyFinished) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc
        except TaskBusy as exc:
            raise _wait_for_worker(note, str(exc)) from exc
        if isinstance(status, StatusWithoutWorker):  # a source that degrades must not reach Slack either
            raise _wait_for_worker(note, f"only a stand-in status for {note.task_id}")
        lock = self._locks.setdefault(note.task_id, asyncio.Lock())
        async with lock:
            try:
                messages = await self._deliver(note, status, retried=attempt() > 1)
            except SlackApiError as exc:
                error = str(exc.response.get("error", "unknown"))
                if error in _PERMANENT:
                    raise ApplicationError(
                        f"Slack refused: {error}", type=names.SLACK_ERROR, non_retryable=True
                    ) from exc
                raise ApplicationError(f"Slack error: {error}", type=names.SLACK_ERROR) from exc
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return NotifyResultV1(messages=messages)

    async def _deliver(self, note: NotifyInputV1, status: TaskStatusV1, *, retried: bool) -> SlackMessagesV1:
        channel = status.requester.channel_id
        if not channel:
            return note.messages
        known = self._known(note, status)
        thread = _Thread(self, status.task_id, channel, status.requester.thread_ts, retried)

        blocks = status_message(status, now=self._clock(), links=self._links)
        plan = (plan_status_message(status, now=self._clock(), links=self._links)
                if self.status_style == "plan" else None)
        status_ts = await thread.put("status", known.status_ts, plan or blocks, fallback=blocks if plan else None)
        thread.root_ts = status.requester.thread_ts or status_ts
        await self.sessions.mirror(status, channel, thread.root_ts)
        cards = dict(known.checkpoint_ts)
        pending = status.pending_checkpoint
        # Several questions asked at once have a card each ("question 1 of 2"); anything else, one card.
        shown = [] if pending is None else list(pending.actions) if pending.interrupt_ids else [pending]
        for checkpoint_id, ts in cards.items():
            if checkpoint_id not in {card.id for card in shown}:
                await thread.put(f"checkpoint:{checkpoint_id}", ts, self._closed_card(status, checkpoint_id))
        if pending is not None and not status.is_terminal:
            approvers = list(dict.fromkeys([*status.approval.approvers, *pending.allowed_users]))
            for question in shown:
                self._memory.put(("checkpoint", status.task_id, question.id), question)
                card = checkpoint_card(status.task_id, question, approvers=approvers)
                cards[question.id] = await thread.put(f"checkpoint:{question.id}", cards.get(question.id), card)
            if note.kind in ("reminder", "escalation") and note.checkpoint_id == pending.id and note.mention:
                await self._mention(thread, note, pending)
        final_ts = known.final_ts
        if status.is_terminal:
            rendered = final_message(status)
            final_ts = await thread.put("final", final_ts, rendered)
            await thread.upload(rendered)
        return SlackMessagesV1(status_ts=status_ts, checkpoint_ts=cards, final_ts=final_ts)

    def _known(self, note: NotifyInputV1, status: TaskStatusV1) -> SlackMessagesV1:
        """The ts's from the workflow, completed by what this process posted in an attempt that did not return."""
        recorded = [note.messages, status.slack, self._memory.get(("messages", note.task_id)) or SlackMessagesV1()]
        cards: dict[str, str] = {}
        for messages in reversed(recorded):
            cards.update(messages.checkpoint_ts)
        return SlackMessagesV1(
            status_ts=next((m.status_ts for m in recorded if m.status_ts), None),
            checkpoint_ts=cards,
            final_ts=next((m.final_ts for m in recorded if m.final_ts), None),
        )

    def _closed_card(self, status: TaskStatusV1, checkpoint_id: str) -> Rendered:
        ids = {checkpoint_id, split_action_ref(checkpoint_id)[0]}  # a group's question: its group's record
        record = next((d for d in reversed(status.decisions) if d.checkpoint_id in ids), None)
        checkpoint: CheckpointV1 | None = self._memory.get(("checkpoint", status.task_id, checkpoint_id))
        return decided_card(checkpoint, record)

    async def _mention(self, thread: _Thread, note: NotifyInputV1, checkpoint: CheckpointV1) -> None:
        info = activity.info() if activity.in_activity() else None
        key = ("mention", info.workflow_id, info.activity_id) if info else None
        if key and self._memory.get(key):
            return
        people = Mrkdwn(" ").join(mention(u) for u in note.mention)
        verb = "this is escalated to you" if note.kind == "escalation" else "reminder"
        text = mrkdwn("{} {}: a decision is waiting on *{}*.", people, verb, checkpoint.title)
        await self._client.chat_postMessage(channel=thread.channel, thread_ts=thread.root_ts, text=slack_text(text))
        if key:
            self._memory.put(key, True)

    def remember(self, task_id: str, part: str, ts: str) -> None:
        current = self._memory.get(("messages", task_id)) or SlackMessagesV1()
        if part == "status":
            current = current.model_copy(update={"status_ts": ts})
        elif part == "final":
            current = current.model_copy(update={"final_ts": ts})
        else:
            cards = {**current.checkpoint_ts, part.split(":", 1)[1]: ts}
            current = current.model_copy(update={"checkpoint_ts": cards})
        self._memory.put(("messages", task_id), current)


class _Thread:
    """One delivery's view of a task's thread: post-or-edit by part, with retry-safe lookups."""

    def __init__(self, notifier: SlackNotifier, task_id: str, channel: str, thread_ts: str | None,
                 retried: bool) -> None:
        self._n = notifier
        self.task_id = task_id
        self.channel = channel
        self.root_ts = thread_ts
        self._retried = retried

    async def put(self, part: str, ts: str | None, rendered: Rendered, fallback: Rendered | None = None) -> str:
        """Post or edit `part`; when Slack refuses `rendered`'s blocks as unsupported, send `fallback` instead (and,
        in this process, go straight to it for this channel from then on)."""
        memory = self._n._memory
        if fallback is not None and memory.get(("unsupported", self.channel)):
            rendered, fallback = fallback, None
        try:
            return await self._put(part, ts, rendered)
        except SlackApiError as exc:
            if fallback is None or exc.response.get("error") not in _NOT_SUPPORTED:
                raise
            log.info("Slack refused plan blocks in %s (%s): sending the classic status", self.channel,
                     exc.response.get("error"))
            memory.put(("unsupported", self.channel), True)
            return await self._put(part, ts, fallback)

    async def _put(self, part: str, ts: str | None, rendered: Rendered) -> str:
        client, memory = self._n._client, self._n._memory
        digest = hashlib.sha256(json.dumps([rendered.text, rendered.blocks], sort_keys=True).encode()).hexdigest()
        if ts is None and self._retried:
            ts = await self._find(part)
        if ts is not None:
            if memory.get(("shown", self.channel, ts)) != digest:
                await client.chat_update(channel=self.channel, ts=ts, text=slack_text(rendered.text),
                                         blocks=safe_blocks(rendered.blocks))
                memory.put(("shown", self.channel, ts), digest)
            return ts
        response = await client.chat_postMessage(
            channel=self.channel,
            thread_ts=self.root_ts,
            text=slack_text(rendered.text),
            blocks=safe_blocks(rendered.blocks),
            metadata={"event_type": METADATA_EVENT, "event_payload": {"task_id": self.task_id, "part": part}},
            unfurl_links=False,
        )
        posted = str(response["ts"])
        memory.put(("shown", self.channel, posted), digest)
        self._n.remember(self.task_id, part, posted)
        return posted

    async def upload(self, rendered: Rendered) -> None:
        for upload in rendered.uploads:
            key = ("uploaded", self.task_id, upload.filename)
            if self._n._memory.get(key):
                continue
            await self._n._client.files_upload_v2(channel=self.channel, thread_ts=self.root_ts,
                                                  content=upload.content, filename=upload.filename,
                                                  title=upload.title)
            self._n._memory.put(key, True)

    async def _find(self, part: str) -> str | None:
        """A message an earlier attempt posted but never reported (the bot died before the activity returned)."""
        client = self._n._client
        try:
            if self.root_ts:
                response = await client.conversations_replies(channel=self.channel, ts=self.root_ts, limit=200,
                                                              include_all_metadata=True)
            else:
                response = await client.conversations_history(channel=self.channel, limit=100,
                                                              include_all_metadata=True)
        except SlackApiError as exc:
            log.warning("Cannot look for earlier posts of %s: %s", self.task_id, exc.response.get("error"))
            return None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (metadata.get("event_type") == METADATA_EVENT and payload.get("task_id") == self.task_id
                    and payload.get("part") == part):
                return str(message["ts"])
        return None


def _wait_for_worker(note: NotifyInputV1, why: str) -> ApplicationError:
    """A retryable failure: Temporal tries again (backing off to every 30 s) until a worker answers for the task.

    Benign, so each attempt is one log line rather than a traceback: a worker restarting is expected."""
    log.info("Notification for %s waits for a worker (attempt %d): %s", note.task_id, attempt(), why)
    return ApplicationError(why, type=names.TASK_BUSY, category=ApplicationErrorCategory.BENIGN)
