"""Where a run's progress goes (#16 item 2): a task shown in Slack signals its workflow, folded, and its last step
rides on `run_agent`'s result instead of a closing signal; a task with no Slack thread signals nothing and shows its
progress from the activity's heartbeat."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.api.history.v1 import History
from temporalio.worker import Worker

from baton.gateway import TaskGateway
from bot.blocks import TaskLinks
from bot.notifier import SlackNotifier
from contracts import RequesterV1, TaskRequestV1
from sandbox import FakeSlackApi
from tests.conftest import WorkerFactory
from tests.support import make_request, status_when


def shown_in_slack(request: TaskRequestV1, notify_task_queue: str) -> TaskRequestV1:
    requester = RequesterV1(platform="slack", team_id="T1", channel_id="C1", user_id="U1",
                            thread_ts="1700000000.000100", notify_task_queue=notify_task_queue)
    return request.model_copy(update={"requester": requester})


@asynccontextmanager
async def slack_thread(gateway: TaskGateway, notify_task_queue: str) -> AsyncIterator[None]:
    """The bot's notify activity, on fake Slack: what keeps a Slack-shown task's thread live."""
    async with FakeSlackApi() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        notifier = SlackNotifier(client, gateway, TaskLinks())
        async with Worker(gateway.client, task_queue=notify_task_queue, activities=[notifier.notify]):
            yield


def signalled_steps(history: History) -> list[int]:
    return [json.loads(event.workflow_execution_signaled_event_attributes.input.payloads[0].data)["step"]
            for event in history.events if event.HasField("workflow_execution_signaled_event_attributes")]


async def test_a_slack_tasks_last_step_arrives_on_its_result_without_a_closing_signal(
    gateway: TaskGateway, agent_worker: WorkerFactory, notify_task_queue: str
) -> None:
    request = shown_in_slack(make_request(parameters={"steps": 3, "step_seconds": 0.05}), notify_task_queue)
    async with slack_thread(gateway, notify_task_queue), agent_worker(progress_interval_s=60):
        await gateway.submit(request)  # the first event is signalled; the rest wait for the result
        await gateway.result(request.task_id)
        history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
        final = await gateway.status(request.task_id)
    assert len(signalled_steps(history)) == 1, "only the first step was signalled: no closing signal before the result"
    last = final.events[-1]
    assert last.total is not None and last.step == last.total, "the status still shows the run's last step"
    assert final.phase == "completed"


async def test_a_slack_tasks_progress_is_signalled_while_it_runs_and_its_last_step_arrives_once(
    gateway: TaskGateway, agent_worker: WorkerFactory, notify_task_queue: str
) -> None:
    request = shown_in_slack(make_request(parameters={"steps": 6, "step_seconds": 0.1}), notify_task_queue)
    async with slack_thread(gateway, notify_task_queue), agent_worker(progress_interval_s=0.25):
        await gateway.submit(request)
        seen = await status_when(gateway, request.task_id, lambda s: s.progress.step >= 1)
        assert seen.phase == "running", "progress is visible while the run goes on"
        await gateway.result(request.task_id)
        history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
    signalled = signalled_steps(history)
    (completed,) = [event.activity_task_completed_event_attributes for event in history.events
                    if event.HasField("activity_task_completed_event_attributes")]
    carried = json.loads(completed.result.payloads[0].data).get("last_progress")
    assert signalled, "progress was signalled during the run"
    steps = signalled + ([carried["step"]] if carried else [])
    assert steps == sorted(set(steps)), "each step at most once, in order: the last one not signalled and carried"


async def test_a_task_with_no_slack_thread_shows_its_progress_from_the_heartbeat_and_signals_nothing(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request = make_request(parameters={"steps": 6, "step_seconds": 0.3})  # from the CLI: no thread to edit
    async with agent_worker(progress_interval_s=0.05, heartbeat_throttle_s=0.2):
        await gateway.submit(request)
        seen = await status_when(gateway, request.task_id, lambda s: s.progress.step >= 2)
        assert seen.phase == "running", "the heartbeat's progress is shown while the run goes on"
        assert seen.events[-1].step == seen.progress.step and seen.progress.percent is not None
        await gateway.result(request.task_id)
        history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
        final = await gateway.status(request.task_id)
    assert signalled_steps(history) == [], "no progress signal: no history and no workflow task for it"
    assert final.phase == "completed" and final.progress.percent == 100, "the last step arrived on the result"
