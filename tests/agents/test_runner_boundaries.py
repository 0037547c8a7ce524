"""The runner at a crash between nodes, in process: what LangGraph saved there, and how the next attempt reads it.

A crash after a node's writes are saved and before the next checkpoint leaves a snapshot with `next=()` (the
task has writes, so LangGraph no longer lists it as next) and a creation time, like a finished thread. What tells
them apart is the snapshot's `tasks`: the final checkpoint has none (LangGraph's loop stops when it prepares no
task), the crashed one still holds the task whose writes wait to be applied. The saver is frozen at the boundary
(every later save raises and stores nothing), so it holds exactly what a killed process leaves behind;
tests/chaos/test_crash_between_nodes.py does the same with real worker processes and SIGKILL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver

from contracts import ProgressEventV1, ResumeV1, RunAgentOutputV1, TaskResultV1, utc_now
from contracts.checkpoint import DecisionV1
from sandbox.openai_server import FakeOpenAI
from tests.chaos.boundary_cases import (
    AGENTS,
    MODEL_CALLS,
    PARAMETERS,
    PATHS,
    REQUEST_TEXT,
    assert_right_result,
    boundaries,
    recorded_steps,
)
from tests.chaos.boundary_crash import Boundary, Crashed, freeze_after, thaw
from tests.hitl.conftest import model_replies
from tests.support import make_request
from workers.registry import AgentContext, AgentSpec, load_spec
from workers.runner import AgentRun

CASES = [pytest.param(agent, b, id=f"{agent}-{b}") for agent in AGENTS for b in boundaries(agent)]


class Attempts:
    """The activity's attempts as the workflow makes them: the same input again after a crash, the person's
    accept after an interrupt. Each attempt builds its graph afresh, as `run_agent` does."""

    def __init__(self, spec: AgentSpec, saver: InMemorySaver, chat_model: Callable[[], BaseChatModel]) -> None:
        self.spec = spec
        self.saver = saver
        self.chat_model = chat_model
        self.request = make_request(spec.name, REQUEST_TEXT, PARAMETERS.get(spec.name))
        self.asked: list[str] = []
        self.crashes = 0
        self.attempt = 0
        self.progress: list[ProgressEventV1] = []

    async def run(self, resume: ResumeV1 | None) -> RunAgentOutputV1:
        self.attempt += 1
        context = AgentContext(request=self.request, chat_model=self.chat_model, attempt=self.attempt)
        graph = self.spec.build(context).compile(checkpointer=self.saver)
        return await AgentRun(self.spec, graph, self.request, self._report, attempt=self.attempt).run(resume)

    async def _report(self, event: ProgressEventV1) -> None:
        self.progress.append(event)

    async def until_done(self) -> TaskResultV1:
        resume: ResumeV1 | None = None
        for _ in range(10):
            try:
                output = await self.run(resume)
            except Crashed:
                self.crashes += 1
                thaw(self.saver)
                continue  # Temporal retries the activity with the same input
            if output.kind == "completed":
                assert output.result is not None
                return output.result
            assert output.checkpoint is not None
            self.asked.append(output.checkpoint.id)
            decision = DecisionV1(checkpoint_id=output.checkpoint.id, decision="accept", by="U_OK", at=utc_now())
            resume = ResumeV1(checkpoint=output.checkpoint, decision=decision)
        raise AssertionError("the task neither completed nor stopped after 10 attempts")

    async def steps(self) -> list[str]:
        return [name for name, _ in await recorded_steps(self.graph(), self.request.task_id)]

    def graph(self) -> Any:
        """The task's graph on the same saver, to read what LangGraph recorded."""
        return self.spec.build(AgentContext(request=self.request)).compile(checkpointer=self.saver)

    def config(self) -> Any:
        return {"configurable": {"thread_id": self.request.task_id}}


@pytest.fixture
def model(fake_openai: FakeOpenAI, chat_model: Callable[[], BaseChatModel]) -> Callable[[], BaseChatModel]:
    fake_openai.respond_with(model_replies)
    return chat_model


@pytest.mark.parametrize(("agent", "boundary"), CASES)
async def test_a_crash_between_nodes_continues_the_graph_and_asks_once(
    agent: str, boundary: str, model: Callable[[], BaseChatModel], fake_openai: FakeOpenAI
) -> None:
    saver = InMemorySaver()
    freeze_after(saver, Boundary.parse(boundary))
    attempts = Attempts(load_spec(agent), saver, model)

    result = await attempts.until_done()

    assert attempts.crashes == 1, "the saver froze exactly once, at the boundary"
    assert_right_result(agent, result)
    assert await attempts.steps() == [*PATHS[agent], "END"], "every node ran once, in order, and the graph ended"
    assert len(attempts.asked) == len(set(attempts.asked)) == 1, f"asked once: {attempts.asked}"
    assert fake_openai.call_count == MODEL_CALLS[agent], "a node whose writes were saved did not call the model again"
    finished = {e.node for e in attempts.progress if e.message.startswith("Finished ")}
    assert finished == set(PATHS[agent]) - {"__start__"}, "progress names every node"


async def test_the_snapshot_at_a_boundary_looks_finished_by_next_but_still_holds_the_task() -> None:
    """The rule in LangGraph's terms: `next` is empty at both, `tasks` is not."""
    saver = InMemorySaver()
    freeze_after(saver, Boundary.parse("work#1"))
    attempts = Attempts(load_spec("diagnostic"), saver, lambda: pytest.fail("no model"))
    with pytest.raises(Crashed):
        await attempts.run(None)
    thaw(saver)
    graph, config = attempts.graph(), attempts.config()

    crashed = await graph.aget_state(config)

    assert crashed.next == () and crashed.created_at is not None
    assert [(t.name, t.result) for t in crashed.tasks] == [("work", {"done": 1})], "saved but not applied"
    assert crashed.values["done"] == 1, "aget_state shows the pending writes applied: it reads like a final state"

    result = await attempts.until_done()
    finished = await graph.aget_state(config)

    assert finished.next == () and finished.tasks == (), "LangGraph's record of a finished graph: no task left"
    assert "finished 2 step(s)" in result.summary
