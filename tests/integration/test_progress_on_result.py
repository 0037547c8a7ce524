"""A run's last progress rides on `run_agent`'s result, not on a signal of its own (#16 item 2)."""

from __future__ import annotations

import json

from baton.gateway import TaskGateway
from tests.conftest import WorkerFactory
from tests.support import make_request, status_when


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


async def test_a_longer_runs_progress_is_signalled_while_it_runs_and_its_last_step_arrives_once(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 6, "step_seconds": 0.1})
    async with agent_worker(progress_interval_s=0.25):
        await gateway.submit(request)
        seen = await status_when(gateway, request.task_id, lambda s: s.progress.step >= 1)
        assert seen.phase == "running", "progress is visible while the run goes on"
        await gateway.result(request.task_id)
        history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
    signalled = [json.loads(event.workflow_execution_signaled_event_attributes.input.payloads[0].data)["step"]
                 for event in history.events if event.HasField("workflow_execution_signaled_event_attributes")]
    (completed,) = [event.activity_task_completed_event_attributes for event in history.events
                    if event.HasField("activity_task_completed_event_attributes")]
    carried = json.loads(completed.result.payloads[0].data).get("last_progress")
    assert signalled, "progress was signalled during the run"
    steps = signalled + ([carried["step"]] if carried else [])
    assert steps == sorted(set(steps)), "each step at most once, in order: the last one not signalled and carried"
