"""While no worker answers for a running task, the gateway reads it two ways: `live_status` raises TaskBusy (for
whatever renders a card or judges a click), `status` gives a stand-in marked as such (for read-only displays); and
a click is answered "busy", never "no longer pending". Real dev server, no worker on this test's task queue."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from baton.errors import TaskAlreadyFinished, TaskBusy
from baton.gateway import WITHOUT_WORKER_NOTE, StatusWithoutWorker, TaskGateway
from bot.app import build_app
from bot.decisions import BUSY, check_decision, decide, no_longer_pending
from bot.settings import BotSettings
from contracts import TaskStatusV1
from tests.support import make_request


async def test_with_no_worker_live_status_is_busy_and_status_is_a_marked_stand_in_without_a_checkpoint(
        gateway: TaskGateway) -> None:
    task_id = (await gateway.submit(make_request(), validate_agent=False)).task_id
    try:
        with pytest.raises(TaskBusy, match="try again in a minute"):
            await gateway.live_status(task_id)
        shown = await gateway.status(task_id)
        assert isinstance(shown, StatusWithoutWorker) and shown.pending_checkpoint is None
        assert shown.progress.message == WITHOUT_WORKER_NOTE, "people see that this view is partial"
        assert TaskStatusV1.model_validate_json(shown.model_dump_json()).task_id == task_id, "same wire shape"
        assert no_longer_pending(shown, "cp-1") == BUSY, "a stand-in never says a checkpoint is gone"
    finally:
        await gateway.client.get_workflow_handle(task_id).terminate("test cleanup")


async def test_a_click_while_no_worker_answers_is_answered_busy_and_sends_no_decision(
        gateway: TaskGateway, bot_settings: BotSettings, slack_client: AsyncWebClient) -> None:
    _, services = build_app(bot_settings, gateway, client=slack_client)
    task_id = (await gateway.submit(make_request(), validate_agent=False)).task_id
    handle = gateway.client.get_workflow_handle(task_id)
    try:
        check = await check_decision(services, task_id, "cp-1", "accept", "U01ALICE")
        assert check.refusal == BUSY and check.checkpoint is None
        assert await decide(services, task_id, check, "accept", "U01ALICE") == BUSY
        kinds = {event.WhichOneof("attributes") or "" for event in (await handle.fetch_history()).events}
        assert not [k for k in kinds if "update" in k], "no update reached the workflow"
    finally:
        await handle.terminate("test cleanup")


async def test_an_ended_task_without_a_final_status_reads_as_finished_not_busy(gateway: TaskGateway) -> None:
    task_id = (await gateway.submit(make_request(), validate_agent=False)).task_id
    await gateway.client.get_workflow_handle(task_id).terminate("an operator ended it")
    with pytest.raises(TaskAlreadyFinished):
        await gateway.live_status(task_id)
