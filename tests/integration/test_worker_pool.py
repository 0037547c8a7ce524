"""`baton worker --processes N`: N worker processes under one supervisor, each polling, all drained by one SIGTERM."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from baton.worker_pool import default_processes
from tests.support import eventually, make_request

STEP_SECONDS = 2.0


async def activity_pollers(client: Client, task_queue: str) -> set[str]:
    answer = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY))
    return {poller.identity.split("@")[0] for poller in answer.pollers}


async def running_on(client: Client, task_id: str) -> str | None:
    """The pid of the worker process running the task's agent now (the history records it only at the end)."""
    description = await client.get_workflow_handle(task_id).describe()
    for pending in description.raw_description.pending_activities:
        if pending.last_worker_identity and pending.last_started_time.seconds:
            return pending.last_worker_identity.split("@")[0]
    return None


async def run_agent_completed(client: Client, task_id: str) -> bool:
    async for event in client.get_workflow_handle(task_id).fetch_history_events():
        if event.HasField("activity_task_completed_event_attributes"):
            return True
    return False


async def test_two_worker_processes_both_poll_and_one_sigterm_drains_both_in_flight_runs(
    temporal_server: DevServer, temporal_client: Client, gateway: TaskGateway, task_queue: str, tmp_path: Path
) -> None:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "BATON_", "OPENAI_", "TEMPORAL_"))}
    env = {**keep, "TEMPORAL_ADDRESS": temporal_server.address, "BATON_TASK_QUEUE": task_queue,
           "BATON_CHECKPOINTER": str(tmp_path / "checkpoints.sqlite"), "BATON_AGENTS": "diagnostic",
           "BATON_MAX_ACTIVITIES": "1", "BATON_DRAIN_TIMEOUT_S": "30", "BATON_STICKY_QUEUE_TIMEOUT_S": "1"}
    pool = await asyncio.create_subprocess_exec(sys.executable, "-m", "baton.cli", "worker", "--processes", "2",
                                                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        async def both_poll() -> set[str] | None:
            assert pool.returncode is None, "the pool exited"
            pids = await activity_pollers(temporal_client, task_queue)
            return pids if len(pids) == 2 else None

        pids = await eventually(both_poll, timeout=60)
        # One activity slot a process: two slow runs can only run one on each process.
        requests = [make_request(parameters={"steps": 1, "step_seconds": STEP_SECONDS}) for _ in range(2)]
        for request in requests:
            await gateway.submit(request)
        running = {await eventually(functools.partial(running_on, temporal_client, r.task_id), timeout=60)
                   for r in requests}
        assert running == pids, "each process runs one of the two"
    finally:
        pool.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(pool.communicate(), 60)
    output = out.decode() + err.decode()
    assert pool.returncode == 0, output[-2000:]
    assert output.count("starting worker-") == 2, output[-2000:]
    for request in requests:  # both drained: each run finished its step after the SIGTERM, none was abandoned
        assert await run_agent_completed(temporal_client, request.task_id)


def test_the_default_is_one_process_a_core_capped_by_a_cgroup_cpu_limit(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    assert default_processes(tmp_path / "absent") == cores
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert default_processes(tmp_path / "cpu.max") == cores
    (tmp_path / "cpu.max").write_text("50000 100000\n")
    assert default_processes(tmp_path / "cpu.max") == 1
