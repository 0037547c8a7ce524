"""Progress from an agent activity to whoever watches its task: the activity's heartbeat, and `progress` signals
when a Slack thread shows it.

Every heartbeat of the activity carries the newest event (its details), and costs no history: `TaskGateway.status()`
adds it to what the workflow reports (`TaskStatusV1.with_progress`). That is all a task with no Slack thread needs
(the CLI, the API, a benchmark): each event heartbeats at once, and reaches Temporal within `heartbeat_throttle_s`.

A task shown in Slack also signals its workflow, which edits the thread's messages. A chatty agent must not flood
the workflow's history: the first event of a run goes at once (the person sees the run, or its retry, start); a
later one waits `min_interval_s`, folded with those that come meanwhile (the newest is sent), so no event waits
longer than that, at most one signal goes per interval, a burst of quick nodes is one signal, and a run's last step,
which ends the run within the interval, is not signalled at all. The last event of a run is always delivered: by a
closing signal when the run failed (`close`), else on the activity's result (`finish`), which the workflow reads
anyway; a signal right before it would cost the history a signal and a workflow task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from temporalio import activity
from temporalio.client import WorkflowHandle

from contracts import ProgressEventV1
from contracts.names import PROGRESS_SIGNAL

log = logging.getLogger(__name__)


class ProgressReporter:
    def __init__(
        self, handle: WorkflowHandle[object, object], min_interval_s: float = 1.0, *, signal: bool = True
    ) -> None:
        """`signal`: whether the workflow is signalled too (its task is shown in a Slack thread)."""
        self._handle = handle
        self._min_interval_s = min_interval_s
        self._signal = signal
        self.latest: ProgressEventV1 | None = None
        """The newest event, which every heartbeat of the activity carries (`heartbeat`)."""
        self.last_beat = time.monotonic()
        """When the activity last heartbeat (its start counts: the heartbeat timeout runs from it)."""
        self._last_sent = float("-inf")
        self._pending: ProgressEventV1 | None = None
        self._flush_task: asyncio.Task[None] | None = None
        self._send_task: asyncio.Task[None] | None = None
        self.sent = 0

    async def __call__(self, event: ProgressEventV1) -> None:
        self.latest = event
        if not self._signal:  # the heartbeat is how this task shows progress: beat now (the worker throttles it)
            self.heartbeat()
            return
        self._pending = event
        if self._last_sent == float("-inf") or self._min_interval_s <= 0:
            await self._send_pending()
        elif self._flush_task is None or self._flush_task.done():
            self._flush_task = asyncio.create_task(self._flush_loop())

    async def _flush_loop(self) -> None:
        """Sends what is pending an interval after it came, again while events keep arriving during a send (else one
        that came in mid-send waited for the next event or the end of the run)."""
        while self._pending is not None:
            await asyncio.sleep(self._min_interval_s)
            self._send_task = asyncio.create_task(self._send_pending())
            await asyncio.shield(self._send_task)  # `finish` cancels the wait, never a signal already on its way

    async def _send_pending(self) -> None:
        event, self._pending = self._pending, None
        if event is None:
            return
        self._last_sent = time.monotonic()
        try:
            await self._handle.signal(PROGRESS_SIGNAL, event)
            self.sent += 1
        except Exception as exc:  # progress is best effort; the agent's work must not fail for it
            log.warning("Could not report progress for %s: %s", self._handle.id, exc)

    def heartbeat(self) -> None:
        """Heartbeat the activity with the newest event (the worker sends it at most once a throttle interval)."""
        self.last_beat = time.monotonic()
        if not activity.in_activity():
            return
        if self.latest is None:
            activity.heartbeat()
        else:
            activity.heartbeat(self.latest)

    async def close(self) -> None:
        """Signal the run's last event, unless the workflow had it (a run that ends without a result, which fails
        or is cancelled: the signal is the only way the workflow sees its last step and attempt)."""
        await self._stop_flush()
        if not self._signal:
            self._pending = self.latest
        await self._send_pending()

    async def finish(self) -> ProgressEventV1 | None:
        """The newest event the workflow has not had, for the activity's result, and nothing sent after it."""
        await self._stop_flush()
        event, self._pending = self._pending, None
        return event if self._signal else self.latest

    async def _stop_flush(self) -> None:
        """The flush is stopped; a signal already on its way is let finish: cancelling it lost its event (taken from
        `_pending`, never delivered), so a run's last steps went missing from the status."""
        task = self._flush_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._send_task is not None and not self._send_task.done():
            await self._send_task
