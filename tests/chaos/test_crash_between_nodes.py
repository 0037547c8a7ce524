"""A worker process SIGKILLed between two nodes of an example agent: the task still runs every node, asks for
approval once, and ends with the right result.

The kill falls after a node's writes are saved (`aput_writes`) and before LangGraph writes the next checkpoint
(tests/chaos/boundary_worker.py), at every boundary of diagnostic, ops_audit and sales_report: after `__start__`
(the input), after each node, and after the interrupting node saved its question. There, `aget_state` shows
`next=()` and a creation time, like a finished thread; only its `tasks` tell it apart. The test proves the crash
landed there from LangGraph's own record: the step's checkpoint is older than the kill, the next one newer.

Every boundary is reachable: a node that returns nothing still saves a `__no_writes__` marker. Boundaries inside
a step (a node that crashes mid-way) are tests/hitl/test_crash_resume.py's. The checkpointer is SQLite: the saved
shape is LangGraph's, not the saver's.

Speed: one pool of two armed worker processes serves every case (a crash plan per task id), and the one killed
is replaced while the survivor takes over, so a case costs about the heartbeat timeout plus the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from baton.devserver import DevServer
from baton.gateway import TaskGateway
from contracts import DecisionV1, RunAgentOutputV1, TaskResultV1, utc_now
from sandbox.openai_server import FakeOpenAI
from tests.chaos.boundary_cases import (
    AGENTS,
    MODEL_CALLS,
    PARAMETERS,
    PATHS,
    REQUEST_TEXT,
    assert_right_result,
    boundaries,
    boundary_step,
    recorded_steps,
)
from tests.hitl.conftest import REPO_ROOT, WorkerProcess, model_replies, progress_events
from tests.support import make_request, status_when
from workers.checkpointer import open_checkpointer
from workers.registry import AgentContext, load_spec

HEARTBEAT_TIMEOUT_S = 2
"""How soon Temporal gives the killed worker's attempt to another worker (1 s risks a false timeout on a busy
machine, which would run the task twice at once)."""
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=1)
"""A workflow task the killed worker had just taken (a progress signal arrives at almost every boundary) goes to
the survivor after this, instead of Temporal's default 10 s. A live worker that overran it only costs a retry."""
TERMINAL = {"completed", "failed", "cancelled", "timed_out"}
CASES = [pytest.param(agent, b, id=f"{agent}-{b}") for agent in AGENTS for b in boundaries(agent)]


class BoundaryWorker(WorkerProcess):
    """The real worker, started through the crash-at-a-boundary launcher."""

    async def start(self) -> BoundaryWorker:
        log = open(self._log_path, "ab")  # noqa: ASYNC230 - once per process start
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.chaos.boundary_worker",
                cwd=REPO_ROOT,
                env=self._env,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        return self


class Pool:
    """Two armed worker processes on one task queue and one SQLite checkpointer, for the whole module."""

    def __init__(self, temporal: DevServer, model: FakeOpenAI, directory: Path) -> None:
        self.task_queue = f"agents-boundary-{uuid.uuid4().hex[:8]}"
        self.plans = directory / "plans"
        self.plans.mkdir()
        self.checkpointer = str(directory / "checkpoints.sqlite")
        self.directory = directory
        self.workers: list[BoundaryWorker] = []
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TEMPORAL_ADDRESS": temporal.address,
            "BATON_TASK_QUEUE": self.task_queue,
            "BATON_CHECKPOINTER": self.checkpointer,
            "BATON_HEARTBEAT_THROTTLE_S": "0.5", "BATON_HEARTBEAT_INTERVAL_S": "0.5",
            "BATON_STICKY_QUEUE_TIMEOUT_S": "1",
            "BATON_PROGRESS_INTERVAL_S": "0",
            "BATON_PROGRESS_SIGNALS": "always",  # every step in the history: these tests read which nodes ran
            "BATON_DRAIN_TIMEOUT_S": "1",
            "BATON_AGENTS": ",".join(AGENTS),
            "BATON_MODEL": "fake-model",
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": model.api_key,
            "BATON_TEST_CRASH_PLANS": str(self.plans),
        }

    async def replenish(self, live: int = 2) -> None:
        """Start workers until `live` are running (a new one boots while the others work)."""
        while sum(w.process is not None and w.process.returncode is None for w in self.workers) < live:
            worker = BoundaryWorker(self.env, self.directory / f"worker-{len(self.workers) + 1}.log")
            self.workers.append(await worker.start())

    def plan(self, task_id: str, boundary: str) -> None:
        (self.plans / f"{task_id}.boundary").write_text(boundary)

    def crash(self, task_id: str) -> dict[str, Any] | None:
        marker = self.plans / f"{task_id}.crashed"
        return json.loads(marker.read_text()) if marker.exists() else None

    def by_pid(self, pid: int) -> BoundaryWorker:
        return next(w for w in self.workers if w.process is not None and w.process.pid == pid)

    async def close(self) -> None:
        for worker in self.workers:
            worker.kill()
            await worker.stop()


class ShortWorkflowTasks(Interceptor):
    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _ShortWorkflowTasks(next)


class _ShortWorkflowTasks(OutboundInterceptor):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        input.task_timeout = WORKFLOW_TASK_TIMEOUT
        return await super().start_workflow(input)


@pytest.fixture(scope="module")
def gateway(temporal_client: Client, pool: Pool) -> TaskGateway:
    """The real gateway (its own `submit`), on a client whose workflows get a short workflow task timeout."""
    client = Client(
        temporal_client.service_client,
        namespace=temporal_client.namespace,
        data_converter=pydantic_data_converter,
        interceptors=[ShortWorkflowTasks()],
    )
    return TaskGateway(client, task_queue=pool.task_queue, query_timeout_s=2)


@pytest.fixture(scope="module")
async def model() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        server.respond_with(model_replies)
        yield server


@pytest.fixture(scope="module")
async def pool(
    temporal_server: DevServer, model: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Pool]:
    workers = Pool(temporal_server, model, tmp_path_factory.mktemp("boundary"))
    async with open_checkpointer(workers.checkpointer):
        pass  # tables and WAL mode exist before two workers open the file at once ("database is locked")
    try:
        yield workers
    finally:
        await workers.close()
        for worker in workers.workers:  # pytest shows this only when a test failed
            print(f"--- {worker._log_path.name} ---\n{worker.log()[-3000:]}")


async def accept_until_done(gateway: TaskGateway, task_id: str) -> TaskResultV1:
    """Accept every checkpoint the task shows, once, until it ends."""
    answered: set[str] = set()

    def actionable(phase: str, checkpoint_id: str | None) -> bool:
        return phase in TERMINAL or (phase == "waiting_for_human" and checkpoint_id not in answered)

    while True:
        status = await status_when(
            gateway,
            task_id,
            lambda s: actionable(s.phase, s.pending_checkpoint.id if s.pending_checkpoint else None),
            60,
        )
        if status.phase in TERMINAL:
            return await gateway.result(task_id)
        assert status.pending_checkpoint is not None
        answered.add(status.pending_checkpoint.id)
        decision = DecisionV1(
            checkpoint_id=status.pending_checkpoint.id, decision="accept", by="U_APPROVER", at=utc_now()
        )
        await gateway.decide(task_id, decision)


async def questions_and_decisions(client: Client, task_id: str) -> tuple[list[str], int]:
    """The checkpoint id of every run_agent attempt that reported an interrupt (a question put to people), and
    how many `decide` updates the workflow accepted, from its history."""
    history = await client.get_workflow_handle(task_id).fetch_history()
    run_agent: set[int] = set()
    asked: list[str] = []
    decisions = 0
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            if event.activity_task_scheduled_event_attributes.activity_type.name == "run_agent":
                run_agent.add(event.event_id)
        elif event.HasField("activity_task_completed_event_attributes"):
            completed = event.activity_task_completed_event_attributes
            if completed.scheduled_event_id in run_agent:
                [output] = await client.data_converter.decode(completed.result.payloads, [RunAgentOutputV1])
                if output.kind == "interrupted":
                    asked.append(output.checkpoint.id)
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            accepted = event.workflow_execution_update_accepted_event_attributes
            decisions += accepted.accepted_request.input.name == "decide"
    return asked, decisions


@pytest.mark.parametrize(("agent", "boundary"), CASES)
async def test_a_worker_killed_between_nodes_runs_the_rest_of_the_graph_and_asks_for_approval_once(
    agent: str, boundary: str, pool: Pool, model: FakeOpenAI, gateway: TaskGateway, temporal_client: Client
) -> None:
    request = make_request(agent, REQUEST_TEXT, PARAMETERS.get(agent), heartbeat_timeout_s=HEARTBEAT_TIMEOUT_S)
    pool.plan(request.task_id, boundary)
    calls_before = model.call_count
    await pool.replenish()

    await gateway.submit(request, validate_agent=False)  # the pool may still be booting: Temporal holds the task
    async with asyncio.timeout(90):
        result = await accept_until_done(gateway, request.task_id)

    crash = pool.crash(request.task_id)
    assert crash is not None, "no worker reached the boundary"
    killed = pool.by_pid(crash["pid"]).process
    assert killed is not None
    assert await asyncio.wait_for(killed.wait(), 10) == -signal.SIGKILL

    assert_right_result(agent, result)
    async with open_checkpointer(pool.checkpointer) as saver:
        graph = load_spec(agent).build(AgentContext(request=request)).compile(checkpointer=saver)
        steps = await recorded_steps(graph, request.task_id)
    assert [name for name, _ in steps] == [*PATHS[agent], "END"], "every node ran once, in order, to END"
    at = boundary_step(agent, boundary)
    started, next_saved = (datetime.fromisoformat(created).timestamp() for _, created in steps[at : at + 2])
    assert started < crash["at"] < next_saved, "the kill fell after the step's writes, before the next checkpoint"

    asked, decisions = await questions_and_decisions(temporal_client, request.task_id)
    assert len(asked) == len(set(asked)) == 1 and decisions == 1, f"asked {asked}, {decisions} decision(s)"
    assert model.call_count - calls_before == MODEL_CALLS[agent], "no model call was made twice"
    finished = {e.node for e in await progress_events(temporal_client, request.task_id) if e.message[:9] == "Finished "}
    assert finished == set(PATHS[agent]) - {"__start__"}, "progress reported every node"
