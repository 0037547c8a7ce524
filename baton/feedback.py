"""A task's feedback in Temporal: record a click on its final message's feedback buttons, read its ratings.

The ratings live in the task's `TaskFeedbackWorkflow` (contracts.feedback), reached by its registered names only.
A click is the `feedback` update sent with update-with-start: the first click starts the workflow, and a click
after a run closed (it ends when nobody rated for a while) starts a new run seeded with what the closed run left in
its memo. The memo is also how the ratings are read: `describe()` needs no worker and works on a closed run.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from baton.errors import BatonError, TaskBusy
from baton.translate import translate_rpc_error
from contracts import names
from contracts.feedback import FeedbackOutcomeV1, FeedbackStartV1, FeedbackV1, TaskFeedbackV1

__all__ = ["FeedbackRefused", "TaskFeedback", "feedback_update_id"]


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
    def __init__(self, client: Client, task_queue: str, rpc_timeout_s: float = 5.0) -> None:
        self._client = client
        self._task_queue = task_queue
        self._rpc_timeout = timedelta(seconds=rpc_timeout_s)

    async def rate(self, task_id: str, agent: str, click: FeedbackV1) -> FeedbackOutcomeV1:
        """Record `click` on `task_id`; returns once the workflow has applied it. Raises TaskBusy when no worker
        took it in time (the same click sent again is still recorded once), FeedbackRefused, or Baton's error for
        Temporal's."""
        earlier = await self.read(task_id)
        start = FeedbackStartV1(feedback=earlier or TaskFeedbackV1(task_id=task_id, agent=agent))
        operation: WithStartWorkflowOperation[object, object] = WithStartWorkflowOperation(
            names.FEEDBACK_WORKFLOW,
            start,
            id=names.feedback_workflow_id(task_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            memo={names.FEEDBACK_MEMO: start.feedback},
        )
        try:
            outcome: FeedbackOutcomeV1 = await self._client.execute_update_with_start_workflow(
                names.FEEDBACK_UPDATE,
                click,
                start_workflow_operation=operation,
                id=feedback_update_id(click),
                result_type=FeedbackOutcomeV1,
                rpc_timeout=self._rpc_timeout,
            )
        except WorkflowUpdateFailedError as exc:
            raise FeedbackRefused(str(exc.cause or exc)) from exc
        except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
            raise TaskBusy(task_id) from exc
        except RPCError as exc:
            raise translate_rpc_error(exc, task_id) from exc
        return outcome

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
