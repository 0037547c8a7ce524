"""Crash resume: a worker process SIGKILLed in the middle of a node; another worker process finishes the task.

The retried activity continues from the graph's last durable checkpoint (SQLite file or PostgreSQL), so completed
nodes are not run again and the model sees at most the one call that was in flight when the worker died.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from baton.gateway import TaskGateway
from contracts import DecisionV1, ProgressEventV1, utc_now
from tests.hitl.conftest import OPS_REPORT, GatedOpenAI, WorkerProcesses, progress_events
from tests.support import make_request, status_when

OPS_AUDIT_CALLS_WITHOUT_A_CRASH = 2


@pytest.fixture(params=["sqlite", "postgres"])
def checkpointer(request: pytest.FixtureRequest, tmp_path: object) -> str:
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_dsn"))
    return str(request.getfixturevalue("tmp_path") / "shared-checkpoints.sqlite")


def finished_nodes(events: list[ProgressEventV1]) -> list[tuple[int, str]]:
    """(activity attempt, node) for every node that finished, in order. The attempt counts per activity, so it
    starts at 1 again for the run that resumes after a decision."""
    return [(e.attempt, e.node) for e in events if e.node and e.message.startswith("Finished ")]


@pytest.mark.parametrize("crash_in", ["analyse", "report"])
async def test_ops_audit_killed_mid_model_call_completes_on_another_worker_with_at_most_one_repeated_call(
    gateway: TaskGateway,
    worker_processes: WorkerProcesses,
    fake_openai: GatedOpenAI,
    checkpointer: str,
    crash_in: str,
) -> None:
    request = make_request("ops_audit", "Audit prod", heartbeat_timeout_s=2)
    async with worker_processes(checkpointer=checkpointer, fake=fake_openai) as start_worker:
        first = await start_worker()
        if crash_in == "analyse":  # node 3 of 6, the first model call, before the checkpoint
            fake_openai.hold()
        await gateway.submit(request)
        waiting = None
        if crash_in == "report":  # node 6 of 6, the second model call, after the person approved
            waiting = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human", 60)
            assert waiting.pending_checkpoint is not None
            fake_openai.hold()
            await gateway.decide(
                request.task_id,
                DecisionV1(
                    checkpoint_id=waiting.pending_checkpoint.id, decision="accept", by="U_APPROVER", at=utc_now()
                ),
            )
        async with asyncio.timeout(60):
            await fake_openai.wait_until_held(1)
        first.kill()
        await first.process.wait()  # type: ignore[union-attr]
        fake_openai.release()  # the call in flight reaches the model, but its answer goes nowhere
        await start_worker()

        if crash_in == "analyse":
            waiting = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human", 60)
            assert waiting.pending_checkpoint is not None
            await gateway.decide(
                request.task_id,
                DecisionV1(
                    checkpoint_id=waiting.pending_checkpoint.id, decision="accept", by="U_APPROVER", at=utc_now()
                ),
            )
        async with asyncio.timeout(60):
            result = await gateway.result(request.task_id)

    assert result.outcome == "success"
    assert result.artifacts[0].content.startswith(OPS_REPORT)
    assert fake_openai.call_count <= OPS_AUDIT_CALLS_WITHOUT_A_CRASH + 1
    assert fake_openai.call_count == OPS_AUDIT_CALLS_WITHOUT_A_CRASH + 1, "the call in flight was repeated once"
    assert result.usage.llm_calls == OPS_AUDIT_CALLS_WITHOUT_A_CRASH, "usage counts the calls whose answer was used"

    finished = finished_nodes(await progress_events(gateway.client, request.task_id))
    nodes = ["load", "scan", "analyse", "review", "apply", "report"]
    retried = nodes.index(crash_in)
    expected = [(2 if index == retried else 1, node) for index, node in enumerate(nodes)]
    assert finished == expected, f"every node finished once; only the one the crash hit ran twice: {finished}"
    final = await gateway.status(request.task_id)
    assert final.phase == "completed" and final.attempt == 2


async def test_diagnostic_killed_mid_activity_resumes_on_another_worker_without_rerunning_steps(
    gateway: TaskGateway, worker_processes: WorkerProcesses, tmp_path: object
) -> None:
    steps = 6
    request = make_request("diagnostic", "crash me", {"steps": steps, "step_seconds": 0.7}, heartbeat_timeout_s=2)
    async with worker_processes() as start_worker:
        first = await start_worker()
        await gateway.submit(request)
        await status_when(
            gateway, request.task_id, lambda s: any(e.message == "Step 2 of 6 done" for e in s.events), 60
        )
        first.kill()
        await first.process.wait()  # type: ignore[union-attr]
        await start_worker()
        async with asyncio.timeout(60):
            result = await gateway.result(request.task_id)

    assert result.outcome == "success" and f"{steps} step(s)" in result.summary
    done: dict[int, list[int]] = defaultdict(list)
    for event in await progress_events(gateway.client, request.task_id):
        if event.message.startswith("Step "):
            done[event.attempt].append(int(event.message.split()[1]))
    assert done[1][:2] == [1, 2], done
    assert sorted(done[1] + done[2]) == list(range(1, steps + 1)), f"every step ran exactly once: {done}"
    assert done[2][0] == done[1][-1] + 1, f"the second worker started after the last finished step: {done}"
