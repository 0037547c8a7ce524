"""The worker and the CLI as real processes, the way operators run them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp

from baton.devserver import DevServer, free_port
from baton.gateway import TaskGateway
from tests.conftest import WorkerFactory
from tests.support import eventually, make_request, status_when


def _env(server: DevServer, task_queue: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": server.address,
        "BATON_TASK_QUEUE": task_queue,
        "BATON_CHECKPOINTER": str(tmp_path / "checkpoints.sqlite"),
        "BATON_HEARTBEAT_THROTTLE_S": "0.5", "BATON_HEARTBEAT_INTERVAL_S": "0.5",
        "BATON_STICKY_QUEUE_TIMEOUT_S": "1",
        "BATON_PROGRESS_INTERVAL_S": "0.05",
        "BATON_AGENTS": "diagnostic",
        **extra,
    }


async def _baton(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "baton.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_sigterm_lets_the_in_flight_agent_finish_before_the_worker_exits(
    temporal_server: DevServer, task_queue: str, tmp_path: Path, gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    env = _env(temporal_server, task_queue, tmp_path, BATON_DRAIN_TIMEOUT_S="30")
    worker = await asyncio.create_subprocess_exec(sys.executable, "-m", "workers", env=env)
    request = make_request(parameters={"steps": 6, "step_seconds": 0.3})
    await gateway.submit(request)
    await status_when(gateway, request.task_id, lambda s: s.progress.step >= 1)
    worker.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(worker.wait(), 60) == 0
    history = await gateway.client.get_workflow_handle(request.task_id).fetch_history()
    kinds = [event.WhichOneof("attributes") for event in history.events]
    assert "activity_task_completed_event_attributes" in kinds, "the drained activity finished its work"
    assert "activity_task_failed_event_attributes" not in kinds
    async with agent_worker(agents=["diagnostic"]):  # a successor closes the workflow; nothing is re-run
        result = await gateway.result(request.task_id)
    assert result.outcome == "success"
    assert (await gateway.status(request.task_id)).attempt == 1


async def test_cli_submits_shows_status_and_cancels(
    temporal_server: DevServer, task_queue: str, tmp_path: Path, gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    env = _env(temporal_server, task_queue, tmp_path)
    async with agent_worker():
        code, out, err = await _baton(env, "submit", "diagnostic", "hello", "--param", "steps=2", "--wait")
        assert code == 0, err
        assert "phase     completed" in out and "Diagnostic finished 2 step(s)" in out
        code, task_id, err = await _baton(
            env, "submit", "diagnostic", "long one", "--param", "steps=100", "--param", "step_seconds=0.2"
        )
        assert code == 0, err
        task_id = task_id.strip()
        await status_when(gateway, task_id, lambda s: s.progress.step >= 1)
        code, out, _ = await _baton(env, "status", task_id)
        assert code == 0 and "phase     running" in out
        code, out, err = await _baton(env, "cancel", task_id, "--reason", "enough")
        assert code == 0, err
        cancelled = await status_when(gateway, task_id, lambda s: s.phase == "cancelled")
    assert cancelled.cancellation is not None and cancelled.cancellation.reason == "enough"


async def test_cli_errors_are_one_clear_line_and_a_nonzero_exit(
    temporal_server: DevServer, task_queue: str, tmp_path: Path, agent_worker: WorkerFactory
) -> None:
    env = _env(temporal_server, task_queue, tmp_path)
    async with agent_worker():
        cases = {
            ("status", "diagnostic-000000000000"): "No task with id diagnostic-000000000000.",
            ("submit", "no_such_agent", "hi"): "Unknown agent 'no_such_agent'. Available agents:",
            ("submit", "diagnostic", "x" * 9000): "invalid request: text: String should have at most 8000",
        }
        for args, expected in cases.items():
            code, out, err = await _baton(env, *args)
            assert code != 0 and out == ""
            assert err.count("\n") == 1 and expected in err, err
    code, _, err = await _baton({**env, "TEMPORAL_ADDRESS": "127.0.0.1:1"}, "status", "x")
    assert code == 1 and "Cannot reach the Temporal server at 127.0.0.1:1" in err and err.count("\n") == 1


async def test_a_worker_with_a_metrics_port_serves_prometheus_metrics(
    temporal_server: DevServer, task_queue: str, tmp_path: Path, gateway: TaskGateway
) -> None:
    port = free_port()
    env = _env(temporal_server, task_queue, tmp_path, BATON_METRICS_PORT=str(port), BATON_LOG_FORMAT="json")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workers", env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        request = make_request(parameters={"steps": 1})
        await gateway.submit(request)
        await gateway.result(request.task_id)

        async def scrape() -> str | None:
            async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as reply:
                text = await reply.text()
            return text if "temporal_activity_execution_latency" in text else None

        metrics = await eventually(scrape)
        assert f'task_queue="{task_queue}"' in metrics
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(worker.communicate(), 60)
    first_line = out.decode().splitlines()[0]
    assert json.loads(first_line)["level"] == "info", "BATON_LOG_FORMAT=json logs one JSON object a line"
