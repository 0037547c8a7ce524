"""A test-only agent with two checkpoints in one run, and no model:

    START -> first_gate (plain interrupt: a question) -> second_gate (HITL-middleware request) -> END

Each gate node holds only its interrupt, as LangGraph re-runs an interrupted node from its top.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from contracts import TaskRequestV1, TaskResultV1
from workers.registry import AgentContext, AgentSpec


class GatesState(TypedDict, total=False):
    colour: str
    second: dict[str, Any]


async def first_gate(state: GatesState) -> GatesState:
    return {"colour": str(interrupt("Which colour should the release be?"))}


async def second_gate(state: GatesState) -> GatesState:
    request = {
        "action_requests": [{"name": "paint", "args": {"colour": state["colour"]}, "description": "Paint it"}],
        "review_configs": [{"action_name": "paint", "allowed_decisions": ["approve", "reject"]}],
    }
    return {"second": interrupt(request)["decisions"][0]}


def build(ctx: AgentContext) -> StateGraph[GatesState]:
    builder = StateGraph(GatesState)
    builder.add_node("first_gate", first_gate)
    builder.add_node("second_gate", second_gate)
    builder.add_edge(START, "first_gate")
    builder.add_edge("first_gate", "second_gate")
    builder.add_edge("second_gate", END)
    return builder


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    second = state.get("second", {}).get("type")
    return TaskResultV1(
        outcome="success" if second == "approve" else "rejected", summary=f"{state.get('colour')}: {second}"
    )


def initial_state(request: TaskRequestV1) -> dict[str, Any]:
    return {}


SPEC = AgentSpec(
    name="two_gates",
    description="Test agent: two checkpoints in one run.",
    build=build,
    initial_state=initial_state,
    result_from_state=result_from_state,
    total_steps=2,
)
