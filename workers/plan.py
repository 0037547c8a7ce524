"""An agent's plan: the steps a person sees on the task's status message, read from the agent's own graph.

The runner sends it with every progress event (`ProgressEventV1.plan`), so the bot can draw each step as pending,
in progress, complete or failed without knowing any agent. The steps come from the graph, never from a list kept
elsewhere:

    AgentSpec.step_labels given -> those nodes, in that order, with those labels (an agent hides its plumbing)
    otherwise                   -> every node, in the order a walk from START meets them, named after itself
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from contracts import PlanStepV1
from contracts.common import MAX_SHORT_TEXT
from contracts.status import MAX_PLAN_STEPS
from workers.registry import AgentSpec

__all__ = ["plan_of"]


def plan_of(spec: AgentSpec, graph: CompiledStateGraph[Any, Any, Any, Any]) -> list[PlanStepV1]:
    """The agent's steps, at most MAX_PLAN_STEPS of them. Every run asks, and drawing a graph costs more than a
    small agent's whole step: a plan is kept for each shape of graph (its nodes, edges and branches) seen before."""
    if spec.step_labels:
        pairs = list(spec.step_labels.items())
    else:
        shape = _shape(graph)
        order = _orders.get(shape)
        if order is None:
            order = _orders[shape] = _graph_order(graph)
            while len(_orders) > MAX_SHAPES_KEPT:
                _orders.pop(next(iter(_orders)))
        pairs = [(node, _label(node)) for node in order]
    return [PlanStepV1(node=node[:MAX_SHORT_TEXT], label=label[:MAX_SHORT_TEXT])
            for node, label in pairs[:MAX_PLAN_STEPS]]


MAX_SHAPES_KEPT = 256
_orders: dict[tuple[Hashable, ...], list[str]] = {}
"""Graph shape -> its nodes in plan order (oldest shape dropped first)."""


def _shape(graph: CompiledStateGraph[Any, Any, Any, Any]) -> tuple[Hashable, ...]:
    """What the plan's order depends on, cheap to read: the builder's nodes, edges and conditional branches with
    their declared targets. Two builds of one agent share it unless the build itself varies the graph."""
    builder = graph.builder
    branches = tuple(
        (source, name, tuple(sorted(map(str, branch.ends or {}))))
        for source, named in builder.branches.items()
        for name, branch in named.items()
    )
    return tuple(builder.nodes), tuple(sorted(builder.edges)), branches


def _label(node: str) -> str:
    text = node.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _graph_order(graph: CompiledStateGraph[Any, Any, Any, Any]) -> list[str]:
    """Nodes breadth first from START along the drawn edges (conditional ones included when their targets are
    declared), then any the walk did not reach, in the order the graph declares them."""
    declared = [name for name in graph.builder.nodes if not name.startswith("__")]
    try:
        drawn = graph.get_graph()
    except Exception:  # a graph LangGraph cannot draw still has a plan: its declared order
        return declared
    edges: dict[str, list[str]] = {}
    for edge in drawn.edges:
        edges.setdefault(edge.source, []).append(edge.target)
    seen: list[str] = []
    queue = deque(["__start__"])
    while queue:
        for target in edges.get(queue.popleft(), []):
            if target in declared and target not in seen:
                seen.append(target)
                queue.append(target)
    return seen + [name for name in declared if name not in seen]
