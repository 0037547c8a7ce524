"""ThreadNotifier: keeps a Slack-originated task's thread up to date from inside the workflow.

Workflow-side code (deterministic). Every visible change marks the thread dirty; one loop delivers through the
bot's `notify` activity on the requester's notify queue (`baton-slack` by default), so Temporal hands it to
whichever bot replica is alive and holds it while none is. Changes that arrive during a delivery coalesce into the
next one: a busy task costs few Slack calls, and the last delivery always shows the final state because the bot
reads `status` at delivery time.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts import NotifyInputV1, NotifyKind, NotifyResultV1, SlackMessagesV1
    from contracts.names import NOTIFY_ACTIVITY

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30)
)
NOTIFY_HEARTBEAT_PATCH = "notify-heartbeat"
NOTIFY_HEARTBEAT_TIMEOUT = timedelta(seconds=10)
"""A bot that dies mid-delivery is noticed within this, not after the 60 s start-to-close timeout: the thread (and
the task's own completion, which waits for its last notification) stalled a minute after every bot crash."""


class ThreadNotifier:
    def __init__(self, task_id: str, enabled: bool, task_queue: str, messages: SlackMessagesV1 | None = None) -> None:
        """`messages`: those the thread already has, carried over from the workflow's previous run (see `carry`)."""
        self._task_id = task_id
        self._task_queue = task_queue
        self._enabled = enabled
        self._dirty = False
        self._mentions: list[NotifyInputV1] = []
        self._in_flight = False
        self.messages = messages or SlackMessagesV1()

    def changed(self) -> None:
        self._dirty = True

    def mention(self, kind: NotifyKind, checkpoint_id: str | None, users: list[str]) -> None:
        """A reminder or escalation: delivered on its own so the people named are pinged once each time."""
        if self._enabled:
            self._mentions.append(
                NotifyInputV1(task_id=self._task_id, kind=kind, checkpoint_id=checkpoint_id, mention=users[:50])
            )

    def _has_work(self) -> bool:
        return bool(self._mentions) or self._dirty

    async def run(self) -> None:
        """The delivery loop; runs for the workflow's lifetime when the task came from Slack."""
        if not self._enabled:
            return
        while True:
            await workflow.wait_condition(self._has_work)
            if self._mentions:
                note = self._mentions.pop(0)
            else:
                self._dirty = False
                note = NotifyInputV1(task_id=self._task_id, kind="status")
            await self._deliver(note.model_copy(update={"messages": self.messages}))

    async def _deliver(self, note: NotifyInputV1) -> None:
        self._in_flight = True
        try:
            result = await workflow.execute_activity(
                NOTIFY_ACTIVITY,
                note,
                task_queue=self._task_queue,
                result_type=NotifyResultV1,
                start_to_close_timeout=timedelta(seconds=60),
                heartbeat_timeout=NOTIFY_HEARTBEAT_TIMEOUT if workflow.patched(NOTIFY_HEARTBEAT_PATCH) else None,
                schedule_to_close_timeout=timedelta(days=1),
                retry_policy=NOTIFY_RETRY,
            )
            self.messages = result.messages
        except ActivityError as exc:
            # Slack unreachable for a whole day: the task itself must not fail for it.
            workflow.logger.warning("Giving up on a Slack notification for %s: %s", self._task_id, exc.cause)
        finally:
            self._in_flight = False

    def idle(self) -> bool:
        """Nothing marked so far is waiting or being delivered (always true for a task not from Slack)."""
        return not self._enabled or (not self._has_work() and not self._in_flight)

    async def drain(self) -> None:
        """Wait until everything marked so far is delivered (called before the workflow returns)."""
        if self._enabled:
            await workflow.wait_condition(self.idle)

    def carry(self, cards: Collection[str]) -> SlackMessagesV1:
        """The messages to hand to the workflow's next run: the status and final messages, and the cards of the
        checkpoints in `cards` (those the carried status still holds). The next run edits them in place; a card
        left out keeps what it last showed, and the carried state stays bounded however many checkpoints a task
        has had."""
        kept = {checkpoint: ts for checkpoint, ts in self.messages.checkpoint_ts.items() if checkpoint in cards}
        return self.messages.model_copy(update={"checkpoint_ts": kept})
