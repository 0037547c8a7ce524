"""Records replay histories of the foundation's runs (completed, cancelled, failed, retried) into tests/histories/.
Skipped unless BATON_RECORD_HISTORIES=1; tests/hitl/test_replay.py replays every recorded history on every run."""

from __future__ import annotations

import os

import pytest
from temporalio.client import WorkflowFailureError

from baton.gateway import TaskGateway
from contracts import CancellationV1
from tests.conftest import WorkerFactory
from tests.hitl.test_record_histories import save
from tests.support import make_request, status_when

pytestmark = pytest.mark.skipif(
    os.environ.get("BATON_RECORD_HISTORIES") != "1", reason="set BATON_RECORD_HISTORIES=1 to re-record histories"
)


async def test_record_foundation_histories(gateway: TaskGateway, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        completed = make_request(parameters={"steps": 3})
        await gateway.submit(completed)
        await gateway.result(completed.task_id)
        await save(gateway.client, completed.task_id, "diagnostic_completed")

        retried = make_request(parameters={"steps": 2, "fail": "once", "fail_at_step": 2})
        await gateway.submit(retried)
        await gateway.result(retried.task_id)
        await save(gateway.client, retried.task_id, "diagnostic_failed_once_then_completed")

        failed = make_request(parameters={"steps": 2, "fail": "always", "fail_at_step": 1})
        await gateway.submit(failed)
        with pytest.raises(WorkflowFailureError):
            await gateway.result(failed.task_id)
        await save(gateway.client, failed.task_id, "diagnostic_failed")

        cancelled = make_request(parameters={"steps": 100, "step_seconds": 0.1})
        await gateway.submit(cancelled)
        await status_when(gateway, cancelled.task_id, lambda s: s.progress.step >= 2)
        await gateway.cancel(cancelled.task_id, CancellationV1(by="U_OPERATOR", reason="recording"))
        await status_when(gateway, cancelled.task_id, lambda s: s.phase == "cancelled")
        await save(gateway.client, cancelled.task_id, "diagnostic_cancelled_while_running")
