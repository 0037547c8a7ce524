"""AgentWorkflow end to end on the real dev server, driven by the diagnostic agent."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError

from baton.errors import NoWorkers, UnknownAgent
from baton.gateway import TaskGateway
from contracts import CancellationV1
from tests.conftest import WorkerFactory
from tests.support import eventually, make_request, status_when


async def test_submitted_task_reports_progress_and_completes(gateway: TaskGateway, agent_worker: WorkerFactory) -> None:
    request = make_request(parameters={"steps": 4, "step_seconds": 0.3})  # progress heartbeats every 0.5 s
    async with agent_worker():
        outcome = await gateway.submit(request)
        assert outcome.started
        running = await status_when(gateway, request.task_id, lambda s: s.progress.step >= 2)
        assert running.phase == "running"
        assert running.progress.total == 5
        result = await gateway.result(request.task_id)
    assert result.outcome == "success"
    assert "4 step(s)" in result.summary
    final = await gateway.status(request.task_id)
    assert final.phase == "completed"
    assert final.progress.percent == 100.0
    assert final.events, "progress events are kept in the status"


async def test_cancel_while_running_stops_the_activity_and_ends_cancelled(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 50, "step_seconds": 0.2})
    async with agent_worker():
        await gateway.submit(request)
        await status_when(gateway, request.task_id, lambda s: s.progress.step >= 1)
        await gateway.cancel(request.task_id, CancellationV1(by="U_OPERATOR", reason="no longer needed"))
        handle = gateway.client.get_workflow_handle(request.task_id)
        await status_when(gateway, request.task_id, lambda s: s.phase == "cancelled")
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.CANCELED
        history = await handle.fetch_history()
    event_types = [event.WhichOneof("attributes") for event in history.events]
    assert "activity_task_canceled_event_attributes" in event_types, "the activity itself observed the cancellation"
    final = await gateway.status(request.task_id)
    assert final.cancellation is not None and final.cancellation.by == "U_OPERATOR"
    assert final.result is not None and final.result.outcome == "cancelled"
    assert final.progress.step < 50


async def test_non_retryable_agent_failure_fails_the_workflow_with_the_agents_message(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 2, "fail": "always", "fail_at_step": 2})
    async with agent_worker():
        await gateway.submit(request)
        handle = gateway.client.get_workflow_handle(request.task_id)
        try:
            await handle.result()
        except WorkflowFailureError as exc:
            message = str(exc.cause)
        else:
            raise AssertionError("the workflow should have failed")
        description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.FAILED
    assert "Diagnostic failure requested at step 2" in message
    final = await gateway.status(request.task_id)
    assert final.phase == "failed"
    assert final.result is not None and final.result.error is not None
    assert final.result.error.type == "AgentFailed"
    assert final.attempt == 1, "a non-retryable failure is not retried"


async def test_failing_once_then_succeeding_completes_after_one_retry_without_redoing_finished_steps(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 3, "fail": "once", "fail_at_step": 3})
    async with agent_worker():
        await gateway.submit(request)
        result = await gateway.result(request.task_id)
    assert result.outcome == "success"
    final = await gateway.status(request.task_id)
    assert final.attempt == 2
    failed, last = final.events[0], final.events[-1]  # a task with no Slack thread keeps each run's last event
    assert (failed.attempt, failed.node, failed.message) == (1, "work", "Failed in work")
    assert last.attempt == 2 and last.step == last.total


async def test_the_same_idempotency_key_submitted_concurrently_starts_exactly_one_workflow(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 1})
    outcomes = await asyncio.gather(*(gateway.submit(request) for _ in range(8)))
    assert sum(outcome.started for outcome in outcomes) == 1
    async with agent_worker():
        await gateway.result(request.task_id)
    again = await gateway.submit(request)
    assert not again.started, "a finished task's key still maps to that task"
    count = await gateway.client.count_workflows(f"WorkflowId = '{request.task_id}'")
    assert count.count == 1


async def test_the_catalog_lists_the_workers_agents_and_an_unknown_agent_is_refused(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    async with agent_worker():
        catalog = await gateway.agents()
        assert {"diagnostic", "ops_audit", "sales_report"} <= set(catalog.names())
        with pytest.raises(UnknownAgent, match=r"Unknown agent 'nope'.*diagnostic"):
            await gateway.submit(make_request(agent="nope"))


async def test_with_no_worker_running_the_catalog_says_so_and_a_task_is_still_accepted(gateway: TaskGateway) -> None:
    with pytest.raises(NoWorkers, match="No Baton worker is running"):
        await gateway.agents()
    outcome = await gateway.submit(make_request())
    assert outcome.started
    status = await gateway.status(outcome.task_id)
    assert status.phase == "queued"
    assert "No worker is running" in status.progress.message


async def test_a_chatty_agents_progress_is_coalesced_so_history_stays_small(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 400})
    async with agent_worker(progress_interval_s=0.5):
        await gateway.submit(request)
        await gateway.result(request.task_id)
    history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
    signals = [
        e for e in history.events if e.WhichOneof("attributes") == "workflow_execution_signaled_event_attributes"
    ]
    final = await gateway.status(request.task_id)
    assert final.progress.step == final.progress.total == 401, "the last event is always delivered"
    assert len(signals) < 40, f"{len(signals)} progress signals for ~800 progress events"


async def test_concurrent_catalog_reads_share_one_lookup(gateway: TaskGateway, agent_worker: WorkerFactory) -> None:
    async with agent_worker():
        catalogs = await asyncio.gather(*(gateway.agents() for _ in range(20)))
    assert all(catalog is catalogs[0] for catalog in catalogs), "one query answered all twenty callers"


async def test_listing_shows_only_this_gateways_tasks(
    gateway: TaskGateway, agent_worker: WorkerFactory, temporal_client: Client
) -> None:
    other = TaskGateway(temporal_client, task_queue=f"other-{uuid.uuid4().hex[:8]}", query_timeout_s=2)
    mine = make_request(parameters={"steps": 2}, user_id="U_LISTED")
    theirs = make_request(parameters={"steps": 2}, user_id="U_LISTED")
    await other.submit(theirs, validate_agent=False)  # no worker on that queue: it just waits
    async with agent_worker():
        await gateway.submit(mine)
        await gateway.result(mine.task_id)

        async def listed() -> list[str] | None:
            ids = [t.task_id for t in await gateway.list_tasks(user_id="U_LISTED", open_only=False)]
            return ids or None

        assert await eventually(listed) == [mine.task_id]
    await other.cancel(theirs.task_id, CancellationV1(by="U_LISTED", reason="test over"))
