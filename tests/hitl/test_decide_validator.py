"""The `decide` update's validator and outcomes on the real dev server, with the diagnostic agent's plain
interrupt (`ask`) as a model-free checkpoint. A refused decision must leave the workflow's history untouched."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError

from baton.errors import DecisionRejected, TaskAlreadyFinished
from baton.gateway import TaskGateway
from contracts import ApprovalPolicyV1, DecisionKind, DecisionV1, TaskStatusV1, utc_now
from tests.conftest import WorkerFactory
from tests.support import make_request, status_when


async def waiting_task(gateway: TaskGateway, approval: ApprovalPolicyV1 | None = None) -> TaskStatusV1:
    request = make_request(parameters={"steps": 1, "ask": "Ship it?"}, approval=approval)
    await gateway.submit(request)
    return await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")


def decision(status: TaskStatusV1, kind: DecisionKind = "accept", by: str = "U_APPROVER", **extra: Any) -> DecisionV1:
    assert status.pending_checkpoint is not None
    return DecisionV1(checkpoint_id=status.pending_checkpoint.id, decision=kind, by=by, at=utc_now(), **extra)


async def history_length(gateway: TaskGateway, task_id: str) -> int:
    return len((await gateway.client.get_workflow_handle(task_id).fetch_history()).events)


async def assert_refused_without_history(gateway: TaskGateway, task_id: str, refused: DecisionV1, match: str) -> None:
    before = await history_length(gateway, task_id)
    with pytest.raises(DecisionRejected, match=match):
        await gateway.decide(task_id, refused)
    assert await history_length(gateway, task_id) == before, "a refused update writes nothing to history"
    still = await gateway.status(task_id)
    assert still.phase == "waiting_for_human" and not still.decisions


async def test_a_stale_checkpoint_id_is_refused_and_writes_nothing(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    async with agent_worker():
        waiting = await waiting_task(gateway)
        stale = decision(waiting).model_copy(update={"checkpoint_id": "an-old-checkpoint"})
        await assert_refused_without_history(gateway, waiting.task_id, stale, "no longer pending")


async def test_a_decision_the_checkpoint_does_not_allow_is_refused_and_writes_nothing(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    async with agent_worker():
        waiting = await waiting_task(gateway)
        assert waiting.pending_checkpoint is not None and "edit" not in waiting.pending_checkpoint.allowed_decisions
        refused = decision(waiting, "edit", edited_args={"x": 1})
        await assert_refused_without_history(gateway, waiting.task_id, refused, "'edit' is not a decision")


async def test_a_user_the_policy_does_not_allow_is_refused_and_writes_nothing(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    policy = ApprovalPolicyV1(approvers=["U_LEAD"], requester_may_approve=False)
    async with agent_worker():
        waiting = await waiting_task(gateway, policy)
        await assert_refused_without_history(
            gateway, waiting.task_id, decision(waiting, by="U_STRANGER"), "not an approver"
        )
        await assert_refused_without_history(
            gateway, waiting.task_id, decision(waiting, by=waiting.requester.user_id), "may not approve their own"
        )
        outcome = await gateway.decide(waiting.task_id, decision(waiting, by="U_LEAD"))
        assert outcome.outcome == "decided"
        result = await gateway.result(waiting.task_id)
    assert "Answer received: True" in result.summary


async def test_a_repeated_click_is_deduplicated_and_returns_the_same_outcome(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    policy = ApprovalPolicyV1(approvers=["U_A", "U_B", "U_C"], quorum=2)
    async with agent_worker():
        waiting = await waiting_task(gateway, policy)
        click = decision(waiting, by="U_A")
        first = await gateway.decide(waiting.task_id, click)
        length = await history_length(gateway, waiting.task_id)
        again = await gateway.decide(waiting.task_id, click.model_copy(update={"at": utc_now()}))
        assert again == first
        assert await history_length(gateway, waiting.task_id) == length, "the repeated update was not applied"
        status = await gateway.status(waiting.task_id)
        assert status.pending_checkpoint is not None and status.pending_checkpoint.approvals == ["U_A"]


async def test_a_repeated_click_after_the_task_ended_still_gets_the_first_outcome(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    async with agent_worker():
        waiting = await waiting_task(gateway)
        click = decision(waiting, "respond", text="go")
        first = await gateway.decide(waiting.task_id, click)
        await gateway.result(waiting.task_id)
        again = await gateway.decide(waiting.task_id, click)
        assert again == first


async def test_quorum_two_of_three_records_the_first_approval_and_decides_on_the_second_distinct_one(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    policy = ApprovalPolicyV1(approvers=["U_A", "U_B", "U_C"], quorum=2)
    async with agent_worker():
        waiting = await waiting_task(gateway, policy)
        first = await gateway.decide(waiting.task_id, decision(waiting, by="U_A"))
        assert (first.outcome, first.approvals, first.quorum, first.message) == (
            "approval_recorded",
            1,
            2,
            "1 of 2 approvals",
        )
        recorded = await gateway.status(waiting.task_id)
        assert recorded.phase == "waiting_for_human"
        assert recorded.pending_checkpoint is not None and recorded.pending_checkpoint.approvals == ["U_A"]

        # The same person again under another update id (not a button's): still one approval, refused.
        handle = gateway.client.get_workflow_handle(waiting.task_id)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("decide", decision(waiting, by="U_A"), id="decide-by-another-client")
        assert "already approved" in str(refused.value.cause)

        second = await gateway.decide(waiting.task_id, decision(waiting, by="U_B"))
        assert (second.outcome, second.approvals, second.quorum) == ("decided", 2, 2)
        result = await gateway.result(waiting.task_id)
        final = await gateway.status(waiting.task_id)
    assert "Answer received: True" in result.summary
    assert [(d.decision, d.by) for d in final.decisions] == [("accept", "U_B")]


async def test_a_decision_after_the_task_ended_raises_task_already_finished(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    async with agent_worker():
        waiting = await waiting_task(gateway)
        await gateway.decide(waiting.task_id, decision(waiting, "respond", text="yes, ship it"))
        result = await gateway.result(waiting.task_id)
        assert "Answer received: yes, ship it" in result.summary
        with pytest.raises(TaskAlreadyFinished, match="no longer pending"):
            await gateway.decide(waiting.task_id, decision(waiting, "reject", by="U_LATE"))
