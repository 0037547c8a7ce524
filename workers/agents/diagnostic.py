"""The diagnostic agent: an operator's smoke check and the tests' tool. No model, fully scripted by parameters.

    START -> work -+-> work (one step per pass, `steps` passes)
                   +-> ask (only when `ask` is set: a plain interrupt) -> finish -> END

Parameters: `steps` (default 3), `step_seconds` (sleep per step, default 0), `fail` ("never" | "always" | "once":
fail at step `fail_at_step`; "once" fails only on the activity's first attempt, so a retry succeeds), `ask` (a
question for a person).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel, ConfigDict, Field

from contracts import TaskRequestV1, TaskResultV1
from workers.errors import AgentError
from workers.plain_answers import PlainAnswers
from workers.registry import AgentContext, AgentSpec


class DiagnosticParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(default=3, ge=1, le=1000)
    step_seconds: float = Field(default=0.0, ge=0, le=3600)
    fail: Literal["never", "always", "once"] = "never"
    fail_at_step: int = Field(default=1, ge=1)
    ask: str | None = Field(default=None, max_length=500)


class DiagnosticState(TypedDict, total=False):
    text: str
    parameters: dict[str, Any]
    done: int
    answer: Any


def make_diagnostic_graph(ctx: AgentContext) -> StateGraph[DiagnosticState]:
    async def work(state: DiagnosticState) -> DiagnosticState:
        params = DiagnosticParameters.model_validate(state["parameters"])
        step = state.get("done", 0) + 1
        if params.step_seconds:
            await asyncio.sleep(params.step_seconds)
        if step == params.fail_at_step and (params.fail == "always" or (params.fail == "once" and ctx.attempt == 1)):
            raise AgentError(
                f"Diagnostic failure requested at step {step} (fail={params.fail}, attempt {ctx.attempt}).",
                retryable=params.fail == "once",
            )
        get_stream_writer()({"progress": f"Step {step} of {params.steps} done", "node": "work"})
        return {"done": step}

    def after_work(state: DiagnosticState) -> str:
        params = DiagnosticParameters.model_validate(state["parameters"])
        if state.get("done", 0) < params.steps:
            return "work"
        return "ask" if params.ask else "finish"

    builder = StateGraph(DiagnosticState)
    builder.add_node("work", work)
    builder.add_node("ask", ask)
    builder.add_node("finish", finish)
    builder.add_edge(START, "work")
    builder.add_conditional_edges("work", after_work, ["work", "ask", "finish"])
    builder.add_edge("ask", "finish")
    builder.add_edge("finish", END)
    return builder


async def ask(state: DiagnosticState) -> DiagnosticState:
    """A cheap node holding only the interrupt, as LangGraph re-runs an interrupted node from its top."""
    return {"answer": interrupt(state["parameters"]["ask"])}


async def finish(state: DiagnosticState) -> DiagnosticState:
    return {}


def initial_state(request: TaskRequestV1) -> dict[str, Any]:
    try:
        parameters = DiagnosticParameters.model_validate(request.parameters)
    except ValueError as exc:
        raise AgentError(f"Invalid parameters for the diagnostic agent: {exc}") from exc
    return {"text": request.text, "parameters": parameters.model_dump(), "done": 0}


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    summary = f"Diagnostic finished {state.get('done', 0)} step(s) for: {state.get('text', '')}"
    answer = state.get("answer")
    if answer is not None:
        summary += f"\nAnswer received: {answer}"
    return TaskResultV1(outcome="success", summary=summary[:20_000])


def total_steps(request: TaskRequestV1) -> int:
    steps = request.parameters.get("steps", 3)
    return (steps if isinstance(steps, int) and steps > 0 else 3) + 1


SPEC = AgentSpec(
    name="diagnostic",
    description="Smoke check: runs N scripted steps with progress; can sleep, fail, fail once, or ask a question.",
    build=make_diagnostic_graph,
    initial_state=initial_state,
    result_from_state=result_from_state,
    total_steps=total_steps,
    # The question's answer is recorded as given: Approve and Reject as yes/no, Respond as the text.
    plain_answers={"ask": PlainAnswers(approve=True, reject=False, respond="text")},
)
