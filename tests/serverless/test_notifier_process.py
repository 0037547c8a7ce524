"""`baton notifier` as a real process: the notify worker alone, with no signing secret and no Slack listener; settings
fail fast in one line; SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from baton.devserver import DevServer
from sandbox import FakeSlackApi
from tests.support import eventually

BATON = [sys.executable, "-m", "baton.cli", "notifier"]


def _env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    return {**keep, **extra}


async def test_baton_notifier_names_a_missing_bot_token_in_one_line_and_exits_2() -> None:
    process = await asyncio.create_subprocess_exec(*BATON, env=_env(), stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    lines = err.decode().strip().splitlines()
    assert process.returncode == 2 and len(lines) == 1 and "SLACK_BOT_TOKEN" in lines[0]
    assert "SLACK_SIGNING_SECRET" not in lines[0], "the notifier takes no Slack request"


async def test_baton_notifier_polls_the_notify_queue_without_a_signing_secret_and_stops_on_sigterm(
        slack: FakeSlackApi, temporal_server: DevServer, temporal_client: Client, notify_task_queue: str) -> None:
    env = _env(SLACK_BOT_TOKEN=slack.bot_token, SLACK_API_URL=slack.base_url, TEMPORAL_ADDRESS=temporal_server.address,
               BATON_NOTIFY_TASK_QUEUE=notify_task_queue)
    process = await asyncio.create_subprocess_exec(*BATON, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)

    async def polled() -> bool:
        assert process.returncode is None, "the notifier exited"
        answer = await temporal_client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=temporal_client.namespace, task_queue=TaskQueue(name=notify_task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
        return bool(answer.pollers)

    try:
        await eventually(polled, timeout=30)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    output = out.decode() + err.decode()
    assert process.returncode == 0, output[-2000:]
    assert slack.bot_token not in output
