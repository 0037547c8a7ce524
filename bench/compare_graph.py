"""The graph bench.compare runs four ways: four nodes, three model calls, one state, nothing else.

    START -> plan (model) -> research (model) -> tally (no model) -> write (model) -> END

Each way builds it with `make_graph(chat_model)`; the plugin adds its per-node activity options, Baton wraps it in an
AgentSpec (`SPEC`, loaded by the worker as `BATON_AGENTS=bench.compare_graph:SPEC`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph

from contracts import TaskRequestV1, TaskResultV1
from workers.llm import make_chat_model
from workers.registry import AgentSpec

NODES = ("plan", "research", "tally", "write")
MODEL_CALLS = 3
ChatModel = Callable[[], BaseChatModel]


class CompareState(TypedDict, total=False):
    text: str
    plan: str
    findings: str
    tally: int
    report: str


@functools.cache
def env_chat_model() -> BaseChatModel:
    """The fake model named by OPENAI_BASE_URL / OPENAI_API_KEY, one client a process (for the ways without Baton)."""
    return make_chat_model(model="fake-model", api_key=os.environ["OPENAI_API_KEY"],
                           base_url=os.environ["OPENAI_BASE_URL"])


async def _ask(chat_model: ChatModel, prompt: str) -> str:
    reply = await chat_model().ainvoke(prompt)
    return str(reply.content)


async def plan(state: CompareState, chat_model: ChatModel = env_chat_model) -> CompareState:
    return {"plan": await _ask(chat_model, f"Plan the work: {state['text']}")}


async def research(state: CompareState, chat_model: ChatModel = env_chat_model) -> CompareState:
    return {"findings": await _ask(chat_model, f"Research: {state['plan']}")}


async def tally(state: CompareState) -> CompareState:
    return {"tally": len(state["plan"]) + len(state["findings"])}


async def write(state: CompareState, chat_model: ChatModel = env_chat_model) -> CompareState:
    return {"report": await _ask(chat_model, f"Write it up ({state['tally']} chars of notes)")}


def make_graph(chat_model: ChatModel = env_chat_model, node_metadata: dict[str, Any] | None = None) -> StateGraph:
    """The graph; `node_metadata` goes on every node (the plugin reads its activity options there)."""
    builder = StateGraph(CompareState)
    nodes: tuple[tuple[str, Any], ...] = (("plan", plan), ("research", research), ("tally", tally), ("write", write))
    for name, node in nodes:
        keep = node is tally or chat_model is env_chat_model
        body: Any = node if keep else functools.partial(node, chat_model=chat_model)
        builder.add_node(name, body, metadata=dict(node_metadata) if node_metadata else None)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "research")
    builder.add_edge("research", "tally")
    builder.add_edge("tally", "write")
    builder.add_edge("write", END)
    return builder


def plugin_graph() -> StateGraph:
    """Temporal's LangGraph plugin: every node an activity (a crash repeats only the node that was running)."""
    return make_graph(node_metadata={"execute_in": "activity", "start_to_close_timeout": timedelta(seconds=10)})


def _initial_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"text": request.text}


def _result(state: dict[str, Any]) -> TaskResultV1:
    return TaskResultV1(outcome="success", summary=state.get("report", ""))


SPEC = AgentSpec(
    name="compare",
    description="bench.compare's graph: four nodes, three model calls (benchmarks only).",
    build=lambda ctx: make_graph(ctx.chat_model),
    initial_state=_initial_state,
    result_from_state=_result,
    total_steps=len(NODES),
)
