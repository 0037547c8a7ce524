"""The Temporal server itself crashes mid-task: with its state on disk, the task carries on when it returns."""

from __future__ import annotations

import signal
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import dev_server, free_port
from baton.gateway import TaskGateway
from tests.support import make_request, status_when
from workers.config import WorkerSettings
from workers.worker import running_worker


async def test_a_task_survives_a_killed_and_restarted_temporal_server(tmp_path: Path, task_queue: str) -> None:
    port, db = free_port(), tmp_path / "temporal.db"
    request = make_request(parameters={"steps": 30, "step_seconds": 0.1})
    settings = WorkerSettings(
        temporal_address=f"127.0.0.1:{port}",
        task_queue=task_queue,
        checkpointer=str(tmp_path / "checkpoints.sqlite"),
        progress_interval_s=0.05,
        heartbeat_throttle_s=0.5, heartbeat_interval_s=0.5,
        drain_timeout_s=1,
    )
    async with dev_server(port=port, db_filename=db, headless=True) as first:
        client = await Client.connect(first.address, data_converter=pydantic_data_converter)
        gateway = TaskGateway(client, task_queue=task_queue, query_timeout_s=2)
        async with running_worker(client, settings):
            await gateway.submit(request)
            await status_when(gateway, request.task_id, lambda s: s.progress.step >= 3)
            first.process.send_signal(signal.SIGKILL)  # no graceful shutdown: the server just vanishes
            await first.process.wait()
            async with dev_server(port=port, db_filename=db, headless=True):
                # The same client and worker reconnect by themselves; the task finishes on the restarted server.
                result = await gateway.result(request.task_id)
                status = await gateway.status(request.task_id)
    assert result.outcome == "success"
    assert status.phase == "completed"
    assert "30 step(s)" in result.summary
