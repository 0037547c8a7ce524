"""Conversations: hands a person's message to its thread's ConversationWorkflow, starting it when needed, and
returns only once the message is durable in Temporal: the bot acks the Slack event after that, never before.

The first way is Temporal's update-with-start: the workflow id names the thread (`contracts.conversation_id`), the
update id is the Slack event id, so a redelivered event (to this replica or another, before or after a restart) is
applied once by Temporal itself, and the workflow acks it (queued, duplicate, over its limit). An update needs a
worker to take it, though: with every worker down it would wait, and Slack allows 3 s. So after UPDATE_WAIT_S the
message is recorded by signal-with-start instead, which the server writes to history at once, worker or not; the
workflow recognises a message it already has by its event id (the update may still be applied later, and Slack may
redeliver), so either way it is answered once. The bot keeps nothing in memory, and nothing is left running after
the ack. When Temporal cannot be reached at all, `say` raises, and the bot does not ack: Slack keeps the event and
delivers it again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from baton.errors import BatonError, ConversationBusy, TemporalUnavailable
from baton.translate import translate_rpc_error
from contracts import ConversationAckV1, ConversationMessageV1, ConversationStartV1, conversation_id, names

__all__ = ["SAY_ERRORS", "UPDATE_WAIT_S", "ConversationBusy", "Conversations"]

log = logging.getLogger(__name__)
UPDATE_WAIT_S = 0.5
"""How long the update may wait for a worker before the signal records the message: a worker that is up takes it in
tens of milliseconds, and the event's ack must leave room within Slack's 3 s."""


SAY_ERRORS: dict[str, type[BatonError]] = {names.CONVERSATION_BUSY: ConversationBusy}
"""The `say` update's rejection type -> Baton's error, like baton.translate's DECIDE_ERRORS for `decide`."""


class Conversations:
    def __init__(self, client: Client, task_queue: str = names.AGENTS_TASK_QUEUE, *,
                 update_wait_s: float = UPDATE_WAIT_S, rpc_timeout_s: float = 2.0) -> None:
        self._client = client
        self._task_queue = task_queue
        self._update_wait_s = update_wait_s
        self._rpc_timeout = timedelta(seconds=rpc_timeout_s)

    async def say(self, start: ConversationStartV1, message: ConversationMessageV1) -> ConversationAckV1 | None:
        """Make `message` durable in its conversation: the workflow's ack when a worker took the update in time, None
        when the message was recorded by signal (the workflow judges it when a worker runs). Raises ConversationBusy,
        or another BatonError when Temporal could not be reached or refused (then nothing is recorded)."""
        try:
            return await asyncio.wait_for(self._update_with_start(start, message), self._update_wait_s)
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            if isinstance(cause, ApplicationError) and cause.type in SAY_ERRORS:
                raise SAY_ERRORS[cause.type](cause.message) from exc
            raise BatonError(f"The conversation refused the message: {cause}") from exc
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            log.info("No worker took event %s within %.1f s: recording it by signal", message.event_id,
                     self._update_wait_s)
        except RPCError as exc:
            error = translate_rpc_error(exc)
            if not isinstance(error, TemporalUnavailable):
                raise error from exc
            log.info("The update for event %s failed (%s): recording it by signal", message.event_id, exc.message)
        await self._signal_with_start(start, message)
        return None

    async def _update_with_start(self, start: ConversationStartV1,
                                 message: ConversationMessageV1) -> ConversationAckV1:
        operation: WithStartWorkflowOperation[object, object] = WithStartWorkflowOperation(
            names.CONVERSATION_WORKFLOW,
            start,
            id=self._workflow_id(start),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        ack: ConversationAckV1 = await self._client.execute_update_with_start_workflow(
            names.SAY_UPDATE,
            message,
            start_workflow_operation=operation,
            id=message.event_id,
            result_type=ConversationAckV1,
        )
        return ack

    async def _signal_with_start(self, start: ConversationStartV1, message: ConversationMessageV1) -> None:
        try:
            await self._client.start_workflow(
                names.CONVERSATION_WORKFLOW,
                start,
                id=self._workflow_id(start),
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                start_signal=names.SAY_SIGNAL,
                start_signal_args=[message],
                rpc_timeout=self._rpc_timeout,
            )
        except RPCError as exc:
            raise translate_rpc_error(exc) from exc

    @staticmethod
    def _workflow_id(start: ConversationStartV1) -> str:
        return conversation_id(start.key.team_id, start.key.channel_id, start.key.thread_ts)
