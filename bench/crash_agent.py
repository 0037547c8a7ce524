"""ops_audit's graph with a crash switch at the end of one node, for bench.crash_waste.

Each node runs its real body (the real model calls included), then, when it is the node named by
`BENCH_CRASH_AT` and the marker file `BENCH_CRASH_MARKER` does not exist yet, creates the marker and stops: in a
worker process it hangs until the benchmark SIGKILLs the process; in the in-process baseline it raises. Crashing
*after* the body and *before* LangGraph saves the node's checkpoint is the worst case: the node's work is lost.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph

from workers.agents import ops_audit
from workers.registry import AgentContext, AgentSpec

NODES = ("load", "scan", "analyse", "review", "apply", "report")
Node = Callable[[Any], Awaitable[Any]]


class SimulatedCrash(Exception):
    """The baseline's crash: the attempt ends here and the whole graph runs again."""


async def hang_until_killed(node: str) -> None:
    await asyncio.sleep(3600)


async def raise_crash(node: str) -> None:
    raise SimulatedCrash(node)


def claim_crash(name: str) -> bool:
    """True once per marker file, for the node named by BENCH_CRASH_AT."""
    marker = os.environ.get("BENCH_CRASH_MARKER")
    if os.environ.get("BENCH_CRASH_AT") != name or not marker or Path(marker).exists():
        return False
    Path(marker).write_text(name)
    return True


def gated(name: str, body: Node, crash: Callable[[str], Awaitable[None]]) -> Node:
    async def node(state: Any) -> Any:
        result = await body(state)
        if claim_crash(name):
            await crash(name)
        return result

    return node


def make_graph(ctx: AgentContext, crash: Callable[[str], Awaitable[None]] = hang_until_killed) -> StateGraph:
    bodies: dict[str, Node] = {
        "load": ops_audit.load,
        "scan": ops_audit.scan,
        "analyse": partial(ops_audit.analyse, chat_model=ctx.chat_model),
        "review": ops_audit.review,
        "apply": ops_audit.apply,
        "report": partial(ops_audit.report, chat_model=ctx.chat_model),
    }
    builder = StateGraph(ops_audit.OpsAuditState)
    for name in NODES:
        builder.add_node(name, gated(name, bodies[name], crash))
    builder.add_edge(START, "load")
    builder.add_edge("load", "scan")
    builder.add_edge("scan", "analyse")
    builder.add_edge("analyse", "review")
    builder.add_conditional_edges("review", ops_audit.after_review, ["apply", "report"])
    builder.add_edge("apply", "report")
    builder.add_edge("report", END)
    return builder


SPEC = AgentSpec(
    name="ops_audit",
    description="ops_audit with a crash switch (benchmarks only).",
    build=make_graph,
    initial_state=ops_audit.initial_state,
    result_from_state=ops_audit.result_from_state,
    total_steps=6,
)
