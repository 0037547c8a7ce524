"""A test agent that fails the way real client libraries do: with secrets in its exception messages.

    START -> connect -> END    (connect always raises)

Attempt 1 raises a RuntimeError (retryable) chained to a ConnectionError that quotes an Authorization header;
later attempts raise a non-retryable AgentError. Each message carries the worker's model key (OPENAI_API_KEY), its
checkpointer DSN with the password (BATON_CHECKPOINTER), and a warehouse DSN and bearer token that no setting
names, so only the token-shape patterns can catch those. Load it with `BATON_AGENTS=tests.fakes.leaky_agent:SPEC`.
"""

from __future__ import annotations

import os
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from contracts import TaskRequestV1, TaskResultV1
from workers.errors import AgentError
from workers.registry import AgentContext, AgentSpec

WAREHOUSE_PASSWORD = "Wh-Pa55-unconfigured-7731"
WAREHOUSE_DSN = f"postgresql://report_reader:{WAREHOUSE_PASSWORD}@warehouse.internal:5432/sales"
UNCONFIGURED_BEARER = "eyJhbGciOiJIUzI1NiJ9.unconfigured-bearer-8841"
"""Secrets no Baton setting holds: a library's own DSN and token, echoed in its errors."""


class LeakyState(TypedDict, total=False):
    text: str


def make_leaky_graph(ctx: AgentContext) -> StateGraph[LeakyState]:
    async def connect(state: LeakyState) -> LeakyState:
        key = os.environ.get("OPENAI_API_KEY", "")
        checkpoints = os.environ.get("BATON_CHECKPOINTER", "")
        if ctx.attempt == 1:
            try:
                raise ConnectionError(
                    f"401 from https://warehouse.internal/v1 with headers {{'Authorization': 'Bearer {key}'}} "
                    f"and token Bearer {UNCONFIGURED_BEARER}"
                )
            except ConnectionError as inner:
                raise RuntimeError(f"cannot open {checkpoints} nor {WAREHOUSE_DSN}") from inner
        raise AgentError(f"The warehouse refused key {key} at {WAREHOUSE_DSN} (checkpoints in {checkpoints}).")

    builder = StateGraph(LeakyState)
    builder.add_node("connect", connect)
    builder.add_edge(START, "connect")
    builder.add_edge("connect", END)
    return builder


def initial_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"text": request.text}


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    return TaskResultV1(outcome="success", summary="unreachable: connect always raises")


SPEC = AgentSpec(
    name="leaky",
    description="Test agent: fails with secrets in its exception messages.",
    build=make_leaky_graph,
    initial_state=initial_state,
    result_from_state=result_from_state,
    total_steps=1,
)
