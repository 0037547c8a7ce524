"""Records the replay histories in tests/histories/ from real runs with checkpoints. Skipped unless
BATON_RECORD_HISTORIES=1: a recorded history is a fixture of the replay test, rewritten only on purpose."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from temporalio.client import Client

from baton.gateway import TaskGateway
from contracts import ApprovalPolicyV1, CancellationV1, DecisionKind, DecisionV1, utc_now
from tests.conftest import WorkerFactory
from tests.hitl import two_gates
from tests.hitl.test_expiry import StandIns, result_skipping_time, slack_request, stand_ins
from tests.support import make_request, status_when
from workers.agents import diagnostic, ops_audit, sales_report
from workers.registry import AgentRegistry

pytestmark = pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1", reason="set BATON_RECORD_HISTORIES=1 to re-record histories"
)
HISTORIES = Path(__file__).resolve().parents[1] / "histories"
REGISTRY = AgentRegistry([diagnostic.SPEC, ops_audit.SPEC, sales_report.SPEC, two_gates.SPEC])
__all__ = ["result_skipping_time", "stand_ins"]


async def save(client: Client, task_id: str, name: str) -> None:
    history = await client.get_workflow_handle(task_id).fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")


async def decide_next(gateway: TaskGateway, task_id: str, kind: DecisionKind, by: str = "U_A", **extra: Any) -> None:
    seen = {d.checkpoint_id for d in (await gateway.status(task_id)).decisions}
    status = await status_when(
        gateway, task_id, lambda s: s.pending_checkpoint is not None and s.pending_checkpoint.id not in seen
    )
    assert status.pending_checkpoint is not None
    await gateway.decide(
        task_id, DecisionV1(checkpoint_id=status.pending_checkpoint.id, decision=kind, by=by, at=utc_now(), **extra)
    )


async def test_record_dev_server_histories(
    gateway: TaskGateway, agent_worker: WorkerFactory, chat_model: Callable[[], BaseChatModel]
) -> None:
    async with agent_worker(registry=REGISTRY, chat_model=chat_model):
        ops = make_request("ops_audit", "Audit prod", platform="cli")
        await gateway.submit(ops)
        await decide_next(gateway, ops.task_id, "accept")
        await gateway.result(ops.task_id)
        await save(gateway.client, ops.task_id, "ops_audit_approved")

        sales = make_request("sales_report", "Sales for Q1")
        await gateway.submit(sales)
        await decide_next(gateway, sales.task_id, "edit", edited_args={"regions": ["EMEA"]})
        await gateway.result(sales.task_id)
        await save(gateway.client, sales.task_id, "sales_report_edited")

        gates = make_request("two_gates", "paint")
        await gateway.submit(gates)
        await decide_next(gateway, gates.task_id, "respond", text="blue")
        await decide_next(gateway, gates.task_id, "accept", by="U_B")
        await gateway.result(gates.task_id)
        await save(gateway.client, gates.task_id, "two_checkpoints")

        quorum = make_request(
            parameters={"steps": 2, "ask": "Ship?"}, approval=ApprovalPolicyV1(approvers=["U_A", "U_B"], quorum=2)
        )
        await gateway.submit(quorum)
        await decide_next(gateway, quorum.task_id, "accept", by="U_A")
        status = await status_when(
            gateway, quorum.task_id, lambda s: s.pending_checkpoint is not None and bool(s.pending_checkpoint.approvals)
        )
        assert status.pending_checkpoint is not None
        await gateway.decide(
            quorum.task_id,
            DecisionV1(checkpoint_id=status.pending_checkpoint.id, decision="accept", by="U_B", at=utc_now()),
        )
        await gateway.result(quorum.task_id)
        await save(gateway.client, quorum.task_id, "quorum_two_of_two")

        cancelled = make_request(parameters={"steps": 1, "ask": "Ship?"})
        await gateway.submit(cancelled)
        await status_when(gateway, cancelled.task_id, lambda s: s.phase == "waiting_for_human")
        await gateway.cancel(cancelled.task_id, CancellationV1(by="U_REQUESTER", reason="not today"))
        await status_when(gateway, cancelled.task_id, lambda s: s.phase == "cancelled")
        await save(gateway.client, cancelled.task_id, "cancelled_while_waiting")


async def test_record_expiry_history(stand_ins: tuple[StandIns, TaskGateway], result_skipping_time: Any) -> None:
    _, gateway = stand_ins
    request = slack_request(
        ApprovalPolicyV1(approvers=["U_A"], expires_after_s=3600, escalate_to=["U_BOSS"], escalation_window_s=600)
    )
    await gateway.submit(request, validate_agent=False)
    await result_skipping_time(gateway, request.task_id)
    await save(gateway.client, request.task_id, "expired_after_escalation")
