"""A task waits at a checkpoint written by one version of its agent's graph; a worker running another version
meets it. A renamed node fails the task with a readable sentence and leaves the checkpoint as it was; a compatible
version (a node added after the interrupt) finishes it. On the real dev server, with the SQLite checkpointer.

    v1:               START -> prepare -> approve (interrupt) -> apply -> END
    v2, renamed:      START -> prepare -> sign_off (interrupt) -> apply -> END          (version 2)
    v2, compatible:   START -> prepare -> approve (interrupt) -> apply -> announce -> END (version 2, resumes 1)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from temporalio.client import Client

from baton.gateway import TaskGateway
from contracts import DecisionV1, TaskRequestV1, TaskRequestV2, TaskResultV1, names, read_task_request, utc_now
from tests.conftest import WorkerFactory
from tests.support import make_request, status_when
from workers.graph_version import AGENT_VERSION_KEY, check_resumable
from workers.registry import AgentContext, AgentRegistry, AgentSpec

AGENT = "gated"


class GatedState(TypedDict, total=False):
    approved: str
    done: list[str]


async def prepare(state: GatedState) -> GatedState:
    return {"done": ["prepare"]}


async def gate(state: GatedState) -> GatedState:
    return {"approved": str(interrupt("Apply the change?"))}


async def apply(state: GatedState) -> GatedState:
    return {"done": [*state.get("done", []), "apply"]}


async def announce(state: GatedState) -> GatedState:
    return {"done": [*state.get("done", []), "announce"]}


def graph_factory(gate_name: str, *, announce_after: bool = False) -> Callable[[AgentContext], StateGraph[Any]]:
    def build(ctx: AgentContext) -> StateGraph[Any]:
        builder = StateGraph(GatedState)
        builder.add_node("prepare", prepare)
        builder.add_node(gate_name, gate)
        builder.add_node("apply", apply)
        builder.add_edge(START, "prepare")
        builder.add_edge("prepare", gate_name)
        builder.add_edge(gate_name, "apply")
        if announce_after:
            builder.add_node("announce", announce)
            builder.add_edge("apply", "announce")
            builder.add_edge("announce", END)
        else:
            builder.add_edge("apply", END)
        return builder

    return build


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    return TaskResultV1(outcome="success", summary=" > ".join(state.get("done", [])))


def spec(build: Callable[[AgentContext], StateGraph[Any]], version: str = "1", **extra: Any) -> AgentSpec:
    return AgentSpec(name=AGENT, description="Test agent: one approval between two steps.", build=build,
                     initial_state=lambda request: {}, result_from_state=result_from_state, version=version, **extra)


V1 = spec(graph_factory("approve"))
V2_RENAMED = spec(graph_factory("sign_off"), version="2")
V2_COMPATIBLE = spec(graph_factory("approve", announce_after=True), version="2", compatible_versions=("1",))


def checkpoint_rows(path: Path, thread_id: str) -> list[tuple[str, bytes]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT checkpoint_id, metadata FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id",
                          (thread_id,)).fetchall()


async def paused_on_v1(gateway: TaskGateway, agent_worker: WorkerFactory) -> tuple[TaskRequestV1, str]:
    """A task submitted through the gateway, waiting at v1's `approve`; the v1 worker is stopped on return."""
    request = make_request(AGENT, "apply the change")
    async with agent_worker(registry=AgentRegistry([V1])):
        await gateway.submit(request)
        status = await status_when(gateway, request.task_id, lambda s: s.pending_checkpoint is not None)
    assert status.pending_checkpoint is not None
    return request, status.pending_checkpoint.id


def approval(checkpoint_id: str) -> DecisionV1:
    return DecisionV1(checkpoint_id=checkpoint_id, decision="respond", text="yes", by="U_A", at=utc_now())


async def test_a_worker_whose_graph_renamed_the_waiting_node_fails_the_task_and_keeps_its_checkpoint(
    gateway: TaskGateway, agent_worker: WorkerFactory, temporal_client: Client, tmp_path: Path
) -> None:
    request, checkpoint_id = await paused_on_v1(gateway, agent_worker)
    database = tmp_path / "checkpoints.sqlite"
    before = checkpoint_rows(database, request.task_id)
    assert before and b'"baton_agent_version": "1"' in before[-1][1], "the checkpoint names the version that wrote it"

    async with agent_worker(registry=AgentRegistry([V2_RENAMED])):
        await gateway.decide(request.task_id, approval(checkpoint_id))
        final = await status_when(gateway, request.task_id, lambda s: s.phase == "failed")

    assert final.result is not None and final.result.error is not None
    assert final.result.error.type == names.AGENT_VERSION_MISMATCH and not final.result.error.retryable
    assert final.result.error.message.startswith(
        "This task was started on gated version 1, which this worker no longer runs (it runs version 2).")
    assert checkpoint_rows(database, request.task_id) == before, "the checkpoint is neither deleted nor overwritten"

    # The gateway filled in the version the catalog named when the task was submitted (a TaskRequestV2).
    memo = await (await temporal_client.get_workflow_handle(request.task_id).describe()).memo_value(names.REQUEST_MEMO)
    submitted = read_task_request(memo)
    assert isinstance(submitted, TaskRequestV2) and submitted.agent_version == "1"


async def test_a_compatible_version_that_added_a_node_after_the_interrupt_finishes_the_task(
    gateway: TaskGateway, agent_worker: WorkerFactory
) -> None:
    request, checkpoint_id = await paused_on_v1(gateway, agent_worker)
    async with agent_worker(registry=AgentRegistry([V2_COMPATIBLE])):
        await gateway.decide(request.task_id, approval(checkpoint_id))
        result = await gateway.result(request.task_id)
    assert (result.outcome, result.summary) == ("success", "prepare > apply > announce")


async def test_a_graph_that_lost_the_waiting_node_without_a_new_version_is_refused_too() -> None:
    """The author forgot to bump the version: the checkpoint's own record of the node it waits at still tells."""
    saver = InMemorySaver()
    config: Any = {"configurable": {"thread_id": "t-1"}, "metadata": {AGENT_VERSION_KEY: "1"}}
    async for _ in V1.build(AgentContext(request=make_request(AGENT))).compile(checkpointer=saver).astream({}, config):
        pass
    same_version_renamed = spec(graph_factory("sign_off"))
    graph = same_version_renamed.build(AgentContext(request=make_request(AGENT))).compile(checkpointer=saver)
    try:
        await check_resumable(same_version_renamed, graph, config, make_request(AGENT))
    except Exception as exc:
        assert getattr(exc, "type", None) == names.AGENT_VERSION_MISMATCH
        assert "waits at 'approve', which gated version 1 on this worker no longer has" in str(exc)
    else:
        raise AssertionError("a checkpoint waiting at a node the graph lost was resumed")
