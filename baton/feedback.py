"""A task's feedback in Temporal: record a click on its final message's feedback buttons, read its ratings.

The ratings live in the task's `TaskFeedbackWorkflow` (contracts.feedback), reached by its registered names only.
A click is the `feedback` update sent with update-with-start: the first click starts the workflow, and a click
after a run closed (it ends when nobody rated for a while) starts a new run seeded with what the closed run left in
its memo. The memo is also how the ratings are read: `describe()` needs no worker and works on a closed run.

An update needs a worker to take it. When none does within UPDATE_WAIT_S (every worker down, a deploy), the click
is recorded by signal-with-start instead, as baton.conversations records a message: the server writes the signal to
history at once, and the workflow applies it when a worker next runs it. The workflow recognises a click it already
has by its click id (the update may still be applied later, Slack may deliver the click again), so either way it
counts once. `rate` then answers `FeedbackQueued`: what the click will do, judged from the ratings as they stand.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from baton.errors import BatonError, TemporalUnavailable
from baton.translate import translate_rpc_error
from contracts import names
from contracts.feedback import FeedbackOutcomeV1, FeedbackStartV1, FeedbackV1, TaskFeedbackV1

__all__ = ["UPDATE_WAIT_S", "FeedbackQueued", "FeedbackRefused", "TaskFeedback", "expected_outcome",
           "feedback_update_id"]

log = logging.getLogger(__name__)
UPDATE_WAIT_S = 1.0
"""How long the update may wait for a worker before the signal records the click: a worker that is up takes it in
tens of milliseconds, and the click's ack (bot.intake) must leave room within Slack's 3 s."""
Outcome = Literal["recorded", "changed", "unchanged", "duplicate"]


@dataclass(frozen=True)
class FeedbackQueued:
    """The click is durable in the workflow's history (a signal) but no worker has applied it yet."""

    expected: Outcome
    """What it will do once applied, judged from the ratings when it was sent (`expected_outcome`)."""


def expected_outcome(earlier: TaskFeedbackV1 | None, click: FeedbackV1) -> Outcome:
    """What the workflow will answer `click`, given the ratings `earlier`, as its handler decides."""
    mine = next((r for r in earlier.ratings if r.by == click.by), None) if earlier is not None else None
    if mine is None:
        return "recorded"
    if mine.click_id == click.click_id:
        return "duplicate"
    return "unchanged" if mine.rating == click.rating else "changed"


_settling: set[asyncio.Task[object]] = set()


def _settle(operation: WithStartWorkflowOperation[object, object]) -> None:
    """Reads the start's outcome of an update-with-start that failed or was cut short: temporalio leaves it in a
    future nobody awaits, and asyncio would log its exception as never retrieved on every fallback to the signal."""

    async def outcome() -> object:
        return await asyncio.wait_for(operation.workflow_handle(), timeout=30)

    def forget(done: asyncio.Task[object]) -> None:
        _settling.discard(done)
        if not done.cancelled():
            done.exception()

    task: asyncio.Task[object] = asyncio.get_running_loop().create_task(outcome())
    _settling.add(task)
    task.add_done_callback(forget)


class FeedbackRefused(BatonError):
    """The feedback workflow refused a rating (it holds all the ratings it can)."""


def feedback_update_id(click: FeedbackV1) -> str:
    """A fresh id for each delivery of a click. The workflow, not Temporal's update-id dedupe, recognises a click
    it has (by `click_id`): Temporal would answer a repeated update id with the first delivery's outcome,
    "recorded", and the bot would count the click twice. Update ids are history metadata, which payload encryption
    does not cover: the person is named by a digest, as in `decide_update_id`."""
    person = hashlib.sha256(click.by.encode()).hexdigest()[:16]
    return f"{names.FEEDBACK_UPDATE}-{person}-{uuid.uuid4().hex}"


class TaskFeedback:
    def __init__(self, client: Client, task_queue: str, rpc_timeout_s: float = 5.0, *,
                 update_wait_s: float = UPDATE_WAIT_S) -> None:
        self._client = client
        self._task_queue = task_queue
        self._rpc_timeout = timedelta(seconds=rpc_timeout_s)
        self._update_wait_s = update_wait_s

    async def rate(self, task_id: str, agent: str, click: FeedbackV1) -> FeedbackOutcomeV1 | FeedbackQueued:
        """Record `click` on `task_id`: the workflow's outcome when a worker applied it in time, else FeedbackQueued
        once the click is durable by signal. Raises FeedbackRefused, or Baton's error for Temporal's (then nothing
        is recorded)."""
        earlier = await self.read(task_id)
        start = FeedbackStartV1(feedback=earlier or TaskFeedbackV1(task_id=task_id, agent=agent))
        try:
            return await asyncio.wait_for(self._update_with_start(task_id, start, click), self._update_wait_s)
        except WorkflowUpdateFailedError as exc:
            raise FeedbackRefused(str(exc.cause or exc)) from exc
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            log.info("No worker took a feedback click on %s within %.1f s: recording it by signal", task_id,
                     self._update_wait_s)
        except RPCError as exc:
            error = translate_rpc_error(exc, task_id)
            if not isinstance(error, TemporalUnavailable):
                raise error from exc
            log.info("The feedback update on %s failed (%s): recording it by signal", task_id, exc.message)
        try:
            await self._client.start_workflow(
                names.FEEDBACK_WORKFLOW, start, start_signal=names.FEEDBACK_SIGNAL, start_signal_args=[click],
                rpc_timeout=self._rpc_timeout, **self._start_options(task_id, start))
        except RPCError as exc:
            raise translate_rpc_error(exc, task_id) from exc
        return FeedbackQueued(expected_outcome(earlier, click))

    async def _update_with_start(self, task_id: str, start: FeedbackStartV1, click: FeedbackV1) -> FeedbackOutcomeV1:
        operation: WithStartWorkflowOperation[object, object] = WithStartWorkflowOperation(
            names.FEEDBACK_WORKFLOW, start, **self._start_options(task_id, start))
        try:
            outcome: FeedbackOutcomeV1 = await self._client.execute_update_with_start_workflow(
                names.FEEDBACK_UPDATE,
                click,
                start_workflow_operation=operation,
                id=feedback_update_id(click),
                result_type=FeedbackOutcomeV1,
                rpc_timeout=self._rpc_timeout,
            )
        except BaseException:
            _settle(operation)
            raise
        return outcome

    def _start_options(self, task_id: str, start: FeedbackStartV1) -> dict[str, Any]:
        """The same start either way: a closed run's ratings seed the new run and its memo."""
        return {"id": names.feedback_workflow_id(task_id), "task_queue": self._task_queue,
                "id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING,
                "id_reuse_policy": WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                "memo": {names.FEEDBACK_MEMO: start.feedback}}

    async def read(self, task_id: str) -> TaskFeedbackV1 | None:
        """The task's ratings as its feedback workflow's latest run last wrote them; None when nobody rated it."""
        handle = self._client.get_workflow_handle(names.feedback_workflow_id(task_id))
        try:
            description = await handle.describe(rpc_timeout=self._rpc_timeout)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return None
            raise translate_rpc_error(exc, task_id) from exc
        feedback: TaskFeedbackV1 | None = await description.memo_value(names.FEEDBACK_MEMO, None,
                                                                       type_hint=TaskFeedbackV1)
        return feedback
