"""Several interrupts at once (issue #15 item 5), on the real dev server: a graph whose two parallel nodes each ask a
question pauses on both; both are pending together ("Question 1 of 2", "Question 2 of 2"), they are answered in
reverse order, and the agent resumes once, with both answers by interrupt id.

    START -> ask_region  (interrupt) -> report -> END
          -> ask_budget  (interrupt) ->
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from baton.errors import DecisionRejected
from baton.gateway import TaskGateway
from contracts import DecisionV1, TaskResultV1, utc_now
from sandbox.openai_server import FakeOpenAI, tool_calls
from tests.conftest import WorkerFactory
from tests.hitl import test_per_action_decisions as batch
from tests.support import make_request, status_when
from workers.registry import AgentContext, AgentRegistry, AgentSpec

REGION = "Which region should the report cover?"
BUDGET = "What budget may it spend?"


class AskState(TypedDict, total=False):
    answers: Annotated[list[str], operator.add]
    runs: Annotated[int, operator.add]


async def ask_region(state: AskState) -> AskState:
    return {"answers": [f"region={interrupt(REGION)}"]}


async def ask_budget(state: AskState) -> AskState:
    return {"answers": [f"budget={interrupt(BUDGET)}"]}


async def report(state: AskState) -> AskState:
    return {"runs": 1}


def build(context: AgentContext) -> StateGraph[Any]:
    builder = StateGraph(AskState)
    builder.add_node("ask_region", ask_region)
    builder.add_node("ask_budget", ask_budget)
    builder.add_node("report", report)
    builder.add_edge(START, "ask_region")
    builder.add_edge(START, "ask_budget")
    builder.add_edge(["ask_region", "ask_budget"], "report")
    builder.add_edge("report", END)
    return builder


def result(state: dict[str, Any]) -> TaskResultV1:
    return TaskResultV1(outcome="success", summary=f"{sorted(state['answers'])} after {state['runs']} report run")


REGISTRY = AgentRegistry([AgentSpec("two_questions", "Asks two questions at once", build, lambda r: {}, result)])


def build_per_call(context: AgentContext) -> StateGraph[Any]:
    middleware = HumanInTheLoopMiddleware(interrupt_on={"write_file": True, "delete_rows": True},
                                          interrupt_mode="per_call")
    tools = [batch.write_file, batch.delete_rows]
    return create_agent(context.chat_model(), tools=tools, middleware=[middleware]).builder


PER_CALL = AgentRegistry([AgentSpec("per_call_batch", "Two gated tools, approved per call", build_per_call,
                                    lambda r: {"messages": [{"role": "user", "content": r.text}]}, batch.result)])


async def test_two_questions_asked_at_once_are_both_pending_and_answered_in_reverse_order_resume_the_agent_once(
        gateway: TaskGateway, agent_worker: WorkerFactory) -> None:
    async with agent_worker(registry=REGISTRY):
        request = make_request("two_questions", "plan the report")
        await gateway.submit(request)
        status = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
        group = status.pending_checkpoint
        assert group is not None and len(group.interrupt_ids) == 2 and group.title == "2 questions are waiting"
        assert [question.title.split(": ", 1)[0] for question in group.actions] == ["Question 1 of 2",
                                                                                   "Question 2 of 2"]
        said = {i: "EUR 5k" if BUDGET in question.title else "EMEA" for i, question in enumerate(group.actions)}

        def answer(action: int | None) -> DecisionV1:
            return DecisionV1(checkpoint_id=group.id, action=action, decision="respond", text=said[action or 0],
                              by="U_ANA", at=utc_now())

        with pytest.raises(DecisionRejected, match="decide each one"):
            await gateway.decide(request.task_id, answer(None))
        first = await gateway.decide(request.task_id, answer(1))  # question 2 first
        assert "1 of 2 actions decided" in first.message
        waiting = await gateway.status(request.task_id)
        assert waiting.phase == "waiting_for_human" and waiting.pending_checkpoint is not None
        assert [q.decision is not None for q in waiting.pending_checkpoint.actions] == [False, True]
        await gateway.decide(request.task_id, answer(0))
        final = await gateway.result(request.task_id)

    assert final.summary == "['budget=EUR 5k', 'region=EMEA'] after 1 report run"
    [record] = (await gateway.status(request.task_id)).decisions
    assert record.text is not None and "(EMEA)" in record.text and "(EUR 5k)" in record.text


async def test_per_call_approvals_of_two_parallel_tool_calls_are_pending_together_and_each_gets_its_own_answer(
        gateway: TaskGateway, agent_worker: WorkerFactory) -> None:
    """`HumanInTheLoopMiddleware(interrupt_mode="per_call")` interrupts inside each tool call, and the two calls of one
    model turn run in parallel: two interrupts at once."""
    batch.done.clear()
    async with FakeOpenAI() as llm, agent_worker(registry=PER_CALL, chat_model=lambda: batch.chat_model(llm)):
        llm.script(tool_calls(("write_file", {"path": "/a"}), ("delete_rows", {"table": "orders"})), "Done.")
        request = make_request("per_call_batch", "tidy up")
        await gateway.submit(request)
        status = await status_when(gateway, request.task_id, lambda s: s.phase == "waiting_for_human")
        group = status.pending_checkpoint
        assert group is not None and len(group.interrupt_ids) == 2
        names = [q.proposed_action.name if q.proposed_action else "" for q in group.actions]
        kinds: dict[str, Any] = {"write_file": "reject", "delete_rows": "accept"}
        for action in (1, 0):
            await gateway.decide(request.task_id, DecisionV1(
                checkpoint_id=group.id, action=action, decision=kinds[names[action]], by="U_ANA", at=utc_now(),
                text="not now" if kinds[names[action]] == "reject" else None))
        final = await gateway.result(request.task_id)
    assert final.summary == "Done." and batch.done == ["delete orders"]
    assert batch.tool_results(llm) == ["User rejected the tool call for `write_file` with reason: not now",
                                       "deleted orders"]
