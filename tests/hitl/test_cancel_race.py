"""A cancel that reaches the task just as its agent run finishes still cancels it.

The task's `run_agent` waits for its cancellation to complete (WAIT_CANCELLATION_COMPLETED); an attempt that is
already returning does not see the cancel and completes normally, and Temporal hands the workflow its result. The
cancellation request was then delivered once and spent: without a check, the task went on to wait at the next
checkpoint, "waiting for a decision", although the person had cancelled it.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from baton.gateway import TaskGateway
from contracts import CancellationV1, CheckpointV1, RunAgentInputV1, RunAgentOutputV1
from tests.support import eventually, make_request
from workers.workflow.agent_workflow import AgentWorkflow


@dataclass
class FinishingAgent:
    """A `run_agent` that ignores cancellation (no heartbeat) and returns a checkpoint once told to."""

    started: asyncio.Event = field(default_factory=asyncio.Event)
    may_return: asyncio.Event = field(default_factory=asyncio.Event)

    @activity.defn(name="run_agent")
    async def run_agent(self, agent_input: RunAgentInputV1) -> RunAgentOutputV1:
        self.started.set()
        await self.may_return.wait()
        checkpoint = CheckpointV1(id="cp-1", title="Go ahead?", allowed_decisions=["accept", "reject"])
        return RunAgentOutputV1(kind="interrupted", checkpoint=checkpoint)


async def test_a_cancel_that_arrives_as_the_agent_run_returns_ends_the_task_cancelled(
    temporal_client: Client,
) -> None:
    agent = FinishingAgent()
    queue = f"cancel-race-{uuid.uuid4().hex[:8]}"
    request = make_request("diagnostic", "race")
    async with Worker(temporal_client, task_queue=queue, workflows=[AgentWorkflow], activities=[agent.run_agent]):
        gateway = TaskGateway(temporal_client, task_queue=queue)
        await gateway.submit(request, validate_agent=False)
        await asyncio.wait_for(agent.started.wait(), 30)
        await gateway.cancel(request.task_id, CancellationV1(by="U_REQUESTER", reason="not needed"))
        handle = temporal_client.get_workflow_handle(request.task_id)

        async def cancel_requested() -> bool:
            history = await handle.fetch_history()
            return any(e.HasField("activity_task_cancel_requested_event_attributes") for e in history.events)

        await eventually(cancel_requested, timeout=30)
        agent.may_return.set()  # the attempt returns normally: its cancel was never delivered to it

        async def closed() -> bool:
            return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

        await eventually(closed, timeout=30)
        description = await handle.describe()
        status = await gateway.status(request.task_id)
    assert description.status == WorkflowExecutionStatus.CANCELED, "not left waiting at a checkpoint"
    assert status.phase == "cancelled" and status.pending_checkpoint is None
    assert status.result is not None and "U_REQUESTER" in status.result.summary
