"""Waits for people inside one task: several checkpoints in one run, and a cancel while waiting."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowExecutionStatus

from baton.errors import AlreadyDecided, TaskAlreadyFinished
from baton.gateway import TaskGateway
from contracts import CancellationV1, DecisionV1, utc_now
from tests.conftest import WorkerFactory
from tests.hitl import two_gates
from tests.support import make_request, status_when
from workers.agents import diagnostic
from workers.registry import AgentRegistry


async def test_two_checkpoints_in_one_run_are_decided_one_after_the_other(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request("two_gates", "paint the release")
    async with agent_worker(registry=AgentRegistry([two_gates.SPEC])):
        await gateway.submit(request)
        first = await status_when(gateway, request.task_id, lambda s: s.pending_checkpoint is not None)
        assert first.pending_checkpoint is not None and first.pending_checkpoint.convention == "plain"
        first_id = first.pending_checkpoint.id
        await gateway.decide(
            request.task_id,
            DecisionV1(checkpoint_id=first_id, decision="respond", text="blue", by="U_A", at=utc_now()),
        )
        second = await status_when(
            gateway,
            request.task_id,
            lambda s: s.pending_checkpoint is not None and s.pending_checkpoint.id != first_id,
        )
        checkpoint = second.pending_checkpoint
        assert checkpoint is not None and checkpoint.convention == "hitl_middleware"
        assert checkpoint.proposed_action is not None and checkpoint.proposed_action.args == {"colour": "blue"}
        assert checkpoint.allowed_decisions == ["accept", "reject"]
        with pytest.raises(AlreadyDecided, match="no longer pending: <@U_A> already chose respond") as late:
            await gateway.decide(
                request.task_id, DecisionV1(checkpoint_id=first_id, decision="accept", by="U_B", at=utc_now())
            )
        assert (late.value.decision, late.value.by) == ("respond", "U_A")
        await gateway.decide(
            request.task_id, DecisionV1(checkpoint_id=checkpoint.id, decision="accept", by="U_B", at=utc_now())
        )
        result = await gateway.result(request.task_id)
    assert (result.outcome, result.summary) == ("success", "blue: approve")
    final = await gateway.status(request.task_id)
    assert [(d.checkpoint_id, d.decision, d.by) for d in final.decisions] == [
        (first_id, "respond", "U_A"),
        (checkpoint.id, "accept", "U_B"),
    ]


async def test_cancel_while_waiting_for_a_decision_ends_the_task_cancelled(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 1, "ask": "Ship it?"})
    async with agent_worker(registry=AgentRegistry([diagnostic.SPEC])):
        await gateway.submit(request)
        waiting = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
        assert waiting.pending_checkpoint is not None
        await gateway.cancel(request.task_id, CancellationV1(by="U_REQUESTER", reason="not today"))
        final = await status_when(gateway, request.task_id, lambda s: s.phase == "cancelled")
        description = await gateway.client.get_workflow_handle(request.task_id).describe()
        with pytest.raises(TaskAlreadyFinished):
            await gateway.decide(
                request.task_id,
                DecisionV1(checkpoint_id=waiting.pending_checkpoint.id, decision="accept", by="U_A", at=utc_now()),
            )
    assert description.status == WorkflowExecutionStatus.CANCELED
    assert final.result is not None and final.result.outcome == "cancelled"
    assert final.result.summary == "Cancelled by U_REQUESTER: not today"
    assert final.pending_checkpoint is None and not final.decisions
