"""The example agents' node boundaries, and what a task must end with after a crash at any of them.

Shared by the in-process runner test (tests/agents/test_runner_boundaries.py) and the process-killing one
(tests/chaos/test_crash_between_nodes.py), so both walk the same boundaries and hold the same results to account.
"""

from __future__ import annotations

from typing import Any

from langgraph.pregel import Pregel

from contracts import TaskResultV1
from tests.chaos.boundary_crash import Boundary
from tests.hitl.conftest import OPS_REPORT, SALES_NARRATIVE

AGENTS = ("diagnostic", "ops_audit", "sales_report")
REQUEST_TEXT = "Audit prod; sales for EMEA in Q1"
PARAMETERS: dict[str, dict[str, Any]] = {"diagnostic": {"steps": 2, "ask": "Ship it?"}}
PATHS: dict[str, list[str]] = {
    "diagnostic": ["__start__", "work", "work", "ask", "finish"],
    "ops_audit": ["__start__", "load", "scan", "analyse", "review", "apply", "report"],
    "sales_report": ["__start__", "load", "propose_scope", "confirm_scope", "aggregate", "narrate", "report"],
}
"""The task of every step LangGraph records when the person accepts, in order (`__start__` writes the input)."""
INTERRUPTING = {"diagnostic": "ask", "ops_audit": "review", "sales_report": "confirm_scope"}
MODEL_CALLS = {"diagnostic": 0, "ops_audit": 2, "sales_report": 1}


def boundaries(agent: str) -> list[str]:
    """After each step's output (`work#2`: the 2nd run of a repeated node), and after the question is saved."""
    path = PATHS[agent]
    out = []
    for index, node in enumerate(path):
        if node == INTERRUPTING[agent]:
            out.append(f"{node}!interrupt")
        occurrence = path[: index + 1].count(node)
        out.append(f"{node}#{occurrence}" if path.count(node) > 1 else node)
    return out


def boundary_step(agent: str, boundary: str) -> int:
    """Index, in `PATHS[agent]`, of the step the boundary ends."""
    parsed = Boundary.parse(boundary)
    indexes = [i for i, node in enumerate(PATHS[agent]) if node == parsed.node]
    return indexes[parsed.occurrence - 1]


async def recorded_steps(graph: Pregel[Any, Any, Any, Any], thread_id: str) -> list[tuple[str, Any]]:
    """(task name, checkpoint creation time) of every step LangGraph recorded for the thread, oldest first;
    the final checkpoint, which has no task, ends the list as ("END", its time)."""
    config: Any = {"configurable": {"thread_id": thread_id}}
    history = [snapshot async for snapshot in graph.aget_state_history(config)]
    steps: list[tuple[str, Any]] = []
    for snapshot in reversed(history):
        names = [task.name for task in snapshot.tasks] or ["END"]
        steps += [(name, snapshot.created_at) for name in names]
    return steps


def assert_right_result(agent: str, result: TaskResultV1) -> None:
    """The accepted path's result: every step counted, the proposal applied, the model's text used."""
    assert result.outcome == "success", result
    if agent == "diagnostic":
        assert "finished 2 step(s)" in result.summary and "Answer received: True" in result.summary, result.summary
    elif agent == "ops_audit":
        assert "Applied 2 remediation step(s)." in result.summary, result.summary
        assert result.artifacts[0].content.startswith(OPS_REPORT)
        changes = result.artifacts[1].content
        assert "closed port 23" in changes and "openssl 1.1.1f -> " in changes, changes
    else:
        assert "regions EMEA" in result.summary and "2024-01 to 2024-03" in result.summary, result.summary
        assert result.artifacts[0].content.startswith(SALES_NARRATIVE)
