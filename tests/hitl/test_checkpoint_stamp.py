"""A checkpoint is stamped once, by AgentWorkflow: the run_agent activity reports only what the agent asked, and
the workflow alone sets the clock, the quorum, who may decide and the state, from the task's approval policy.

Both run on the dev server: the real worker with the diagnostic agent's plain interrupt (model-free), and a
stand-in `run_agent` that reports a checkpoint with every policy field already filled in, as workers before this
split did and as the recorded histories still hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from baton.gateway import TaskGateway
from contracts import (
    ApprovalPolicyV1,
    CheckpointV1,
    RunAgentInputV1,
    RunAgentOutputV1,
    TaskRequestV1,
    TaskStatusV1,
    utc_now,
)
from tests.conftest import WorkerFactory
from tests.support import make_request, status_when
from workers.workflow.agent_workflow import AgentWorkflow

POLICY = ApprovalPolicyV1(approvers=["U_A", "U_B"], quorum=2, expires_after_s=7200)
SLACK_OF_TIME = timedelta(seconds=30)
"""How far the workflow task's time may sit from the test's clock (both are this machine's clock)."""


def assert_stamped_by_the_workflow(checkpoint: CheckpointV1 | None, submitted_at: datetime) -> None:
    assert checkpoint is not None
    assert checkpoint.created_at is not None and checkpoint.expires_at is not None
    assert submitted_at - SLACK_OF_TIME <= checkpoint.created_at <= utc_now() + SLACK_OF_TIME
    assert checkpoint.expires_at - checkpoint.created_at == timedelta(seconds=POLICY.expires_after_s)
    assert checkpoint.quorum == POLICY.quorum and checkpoint.allowed_users == POLICY.approvers
    assert checkpoint.approvals == [] and checkpoint.state == "pending"


async def recorded_outputs(client: Client, task_id: str) -> list[RunAgentOutputV1]:
    """Every run_agent result as the history recorded it, before the workflow stamped anything."""
    history = await client.get_workflow_handle(task_id).fetch_history()
    outputs: list[RunAgentOutputV1] = []
    for event in history.events:
        if event.HasField("activity_task_completed_event_attributes"):
            payloads = event.activity_task_completed_event_attributes.result.payloads
            [output] = await client.data_converter.decode(payloads, [RunAgentOutputV1])
            outputs.append(output)
    return outputs


async def waiting(gateway: TaskGateway, request: TaskRequestV1) -> TaskStatusV1:
    await gateway.submit(request, validate_agent=False)
    return await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")


async def test_the_agent_reports_what_it_asked_and_the_workflow_stamps_policy_and_time(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 1, "ask": "Ship it?"}, approval=POLICY)
    submitted_at = utc_now()
    async with agent_worker():
        status = await waiting(gateway, request)
        [reported] = await recorded_outputs(gateway.client, request.task_id)
        await gateway.client.get_workflow_handle(request.task_id).terminate("test over")

    assert reported.checkpoint is not None and reported.checkpoint.title == "Ship it?"
    assert reported.checkpoint.created_at is None and reported.checkpoint.expires_at is None
    assert reported.checkpoint.allowed_users == [] and reported.checkpoint.quorum == 1
    assert_stamped_by_the_workflow(status.pending_checkpoint, submitted_at)
    assert status.pending_checkpoint.id == reported.checkpoint.id  # type: ignore[union-attr]


PREFILLED = CheckpointV1(
    id="cp-prefilled",
    title="Ship it?",
    allowed_decisions=["accept", "reject"],
    quorum=5,
    created_at=datetime(2000, 1, 1, tzinfo=UTC),
    expires_at=datetime(2000, 1, 2, tzinfo=UTC),
    state="expired",
    approvals=["U_STALE"],
)


@activity.defn(name="run_agent")
async def run_agent_with_its_own_clock_and_policy(agent_input: RunAgentInputV1) -> RunAgentOutputV1:
    return RunAgentOutputV1(kind="interrupted", checkpoint=PREFILLED)


@pytest.fixture
async def stand_in_agent(temporal_client: Client, task_queue: str) -> AsyncIterator[None]:
    worker = Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[AgentWorkflow],
        activities=[run_agent_with_its_own_clock_and_policy],
    )
    async with worker:
        yield


async def test_the_workflow_replaces_a_clock_and_policy_the_activity_filled_in(
    gateway: TaskGateway, stand_in_agent: None
) -> None:
    request = make_request(approval=POLICY)
    submitted_at = utc_now()
    status = await waiting(gateway, request)
    await gateway.client.get_workflow_handle(request.task_id).terminate("test over")

    assert status.pending_checkpoint is not None and status.pending_checkpoint.id == PREFILLED.id
    assert_stamped_by_the_workflow(status.pending_checkpoint, submitted_at)
