"""A run's last progress rides on `run_agent`'s result, not on a signal of its own (#16 item 2)."""

from __future__ import annotations

from baton.gateway import TaskGateway
from tests.conftest import WorkerFactory
from tests.support import make_request


async def test_a_completed_runs_last_step_arrives_on_its_result_without_a_closing_signal(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 3, "step_seconds": 0.05})
    async with agent_worker(progress_interval_s=60):  # the first event is signalled; the rest wait for the result
        await gateway.submit(request)
        await gateway.result(request.task_id)
        history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
        final = await gateway.status(request.task_id)
    kinds = [event.WhichOneof("attributes") for event in history.events]
    signals = [kind for kind in kinds if kind == "workflow_execution_signaled_event_attributes"]
    assert len(signals) == 1, "only the first step was signalled: no closing signal before the result"
    last = final.events[-1]
    assert last.total is not None and last.step == last.total, "the status still shows the run's last step"
    assert final.phase == "completed"
