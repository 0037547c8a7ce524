"""Two more conformance agents, written as the LangChain and LangGraph documentation shows them (our own code,
following their pages), recording what their code received in `agents.RECEIVED`:

    batched_files   create_agent + HumanInTheLoopMiddleware (batched, the default): write_file (any decision),
                    delete_rows (approve or reject only); several calls in one turn are one request
    subagent        a parent graph whose node is a compiled subgraph, the subagent; the subagent's own node asks
                    with a plain interrupt (declared for the parent's node, the one Baton sees):

        parent:   START -> plan -> subagent -> report -> END
        subagent: START -> draft -> confirm (interrupt) -> END
"""

from __future__ import annotations

from typing import Any, TypedDict

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from tests.conventions.agents import RECEIVED, _messages_state, _spec, _task_id, delete_rows, write_file
from workers.plain_answers import PlainAnswers
from workers.registry import AgentContext


def build_batched(ctx: AgentContext) -> Any:
    middleware = HumanInTheLoopMiddleware(
        interrupt_on={"write_file": True, "delete_rows": {"allowed_decisions": ["approve", "reject"]}})
    return create_agent(ctx.chat_model(), tools=[write_file, delete_rows], middleware=[middleware]).builder


class PlanState(TypedDict, total=False):
    text: str
    steps: list[str]
    draft: str
    confirmed: Any
    report: str


async def plan(state: PlanState) -> PlanState:
    return {"steps": [f"draft {state['text']}"]}


async def draft(state: PlanState) -> PlanState:
    return {"draft": f"Draft of {state['text']}"}


async def confirm(state: PlanState) -> PlanState:
    """The subagent asks before it hands its draft back, as a subgraph node may."""
    answer = interrupt({"question": "Send this draft?", "draft": state["draft"]})
    RECEIVED[_task_id()].append(answer)
    return {"confirmed": answer}


async def report(state: PlanState) -> PlanState:
    return {"report": f"{state['draft']} ({'sent' if state['confirmed'] is True else 'kept'})"}


def build_subagent(ctx: AgentContext) -> StateGraph[PlanState]:
    """The parent graph, with the subagent compiled as one of its nodes (it inherits the parent's checkpointer)."""
    child = StateGraph(PlanState).add_node("draft", draft).add_node("confirm", confirm)
    child.add_edge(START, "draft").add_edge("draft", "confirm").add_edge("confirm", END)
    parent = StateGraph(PlanState).add_node("plan", plan).add_node("subagent", child.compile())
    parent.add_node("report", report)
    parent.add_edge(START, "plan").add_edge("plan", "subagent").add_edge("subagent", "report")
    return parent.add_edge("report", END)


SPECS = [
    _spec("batched_files", build_batched, _messages_state),
    _spec("subagent", build_subagent, plain_answers={"subagent": PlainAnswers(approve=True, reject=False)}),
]
