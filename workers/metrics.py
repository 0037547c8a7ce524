"""The worker's Prometheus metrics, observed by a Temporal worker interceptor: no workflow or activity code changes.

From the `run_agent` activity (prometheus_client's default registry):

    baton_agent_runs_total{agent,outcome}       attempts of run_agent: completed, interrupted (stopped at a
                                                checkpoint), failed, cancelled
    baton_checkpoint_wait_seconds{agent}        histogram: a checkpoint's creation to the decision it resumed with
                                                (observed once, on the first attempt of the resumed run)
    baton_llm_calls_total{agent}                model calls, and
    baton_llm_tokens_total{agent,kind}          tokens (input, output), of the runs that returned (their usage)
    baton_llm_errors_total{agent,kind}          runs that failed on the model: rate_limited, unavailable, auth,
                                                bad_request (baton.llm_errors' mapping)

From AgentWorkflow, through the workflow's own metric meter (replay-safe: nothing is recorded while a worker replays
a history, so a task counts once whichever worker finishes it), exported with the SDK's metrics
(baton.temporal_metrics) when the worker serves them:

    baton_tasks_finished_total{agent,outcome}   success, rejected, failed, cancelled (and the SDK's namespace,
                                                task_queue, workflow_type labels)

Agents the worker does not run are counted as `other`, so a request naming junk cannot grow the label set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, ClassVar, Final

from prometheus_client import Counter, Histogram
from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError, FailureError, is_cancelled_exception
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from contracts import RunAgentInputV1, RunAgentOutputV1, names

__all__ = ["LLM_ERROR_KINDS", "RUN_OUTCOMES", "WorkerMetrics"]

RUN_OUTCOMES: Final = ("completed", "interrupted", "failed", "cancelled")
LLM_ERROR_KINDS: Final = {
    names.LLM_RATE_LIMITED: "rate_limited",
    names.LLM_UNAVAILABLE: "unavailable",
    names.LLM_AUTH_ERROR: "auth",
    names.LLM_BAD_REQUEST: "bad_request",
}
OTHER: Final = "other"

AGENT_RUNS = Counter("baton_agent_runs", "Attempts of the run_agent activity, by agent and outcome.",
                     ["agent", "outcome"])
CHECKPOINT_WAIT = Histogram(
    "baton_checkpoint_wait_seconds", "Time a checkpoint waited for the decision its agent resumed with.", ["agent"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400),
)
LLM_CALLS = Counter("baton_llm_calls", "Model calls of agent runs that returned, by agent.", ["agent"])
LLM_TOKENS = Counter("baton_llm_tokens", "Model tokens of agent runs that returned, by agent and kind.",
                     ["agent", "kind"])
LLM_ERRORS = Counter("baton_llm_errors", "Agent runs that failed on the model, by agent and kind.", ["agent", "kind"])


class WorkerMetrics(Interceptor):
    """The interceptor to hand to the Worker; creates the series of `agents` at 0 so each exists before its first
    event."""

    def __init__(self, agents: Iterable[str]) -> None:
        self._agents = frozenset(agents)
        for agent in self._agents:
            for outcome in RUN_OUTCOMES:
                AGENT_RUNS.labels(agent, outcome)
            CHECKPOINT_WAIT.labels(agent)
            LLM_CALLS.labels(agent)
            for kind in ("input", "output"):
                LLM_TOKENS.labels(agent, kind)
            for kind in LLM_ERROR_KINDS.values():
                LLM_ERRORS.labels(agent, kind)
        # The workflow side runs inside Temporal's sandbox, which builds it from a class: the agents ride along on it.
        self._workflow_class = type("TaskOutcomes", (_TaskOutcomes,), {"agents": self._agents})

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _AgentRuns(next, self._agents)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return self._workflow_class


class _AgentRuns(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, agents: frozenset[str]) -> None:
        super().__init__(next)
        self._agents = agents

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        run = input.args[0] if input.args else None
        if activity.info().activity_type != names.RUN_AGENT_ACTIVITY or not isinstance(run, RunAgentInputV1):
            return await super().execute_activity(input)
        agent = run.request.agent if run.request.agent in self._agents else OTHER
        _observe_wait(agent, run)
        try:
            output = await super().execute_activity(input)
        except asyncio.CancelledError:
            AGENT_RUNS.labels(agent, "cancelled").inc()
            raise
        except BaseException as exc:
            AGENT_RUNS.labels(agent, "failed").inc()
            if isinstance(exc, ApplicationError) and exc.type in LLM_ERROR_KINDS:
                LLM_ERRORS.labels(agent, LLM_ERROR_KINDS[exc.type]).inc()
            raise
        if isinstance(output, RunAgentOutputV1):
            AGENT_RUNS.labels(agent, output.kind).inc()
            LLM_CALLS.labels(agent).inc(output.usage.llm_calls)
            LLM_TOKENS.labels(agent, "input").inc(output.usage.input_tokens)
            LLM_TOKENS.labels(agent, "output").inc(output.usage.output_tokens)
        return output


def _observe_wait(agent: str, run: RunAgentInputV1) -> None:
    """The resumed checkpoint's wait, once per resume: a retried attempt carries the same decision."""
    resume = run.resume
    if resume is None or activity.info().attempt != 1 or resume.checkpoint.created_at is None:
        return
    waited = (resume.decision.at - resume.checkpoint.created_at).total_seconds()
    if waited >= 0:
        CHECKPOINT_WAIT.labels(agent).observe(waited)


class _TaskOutcomes(WorkflowInboundInterceptor):
    """Counts each AgentWorkflow's end by agent and outcome on the workflow's metric meter (deterministic: no I/O,
    no clock; the meter records nothing during replay). A continue-as-new is not an end."""

    agents: ClassVar[frozenset[str]] = frozenset()

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        if workflow.info().workflow_type != names.AGENT_WORKFLOW:
            return await super().execute_workflow(input)
        agent = _agent_of(input.args[0] if input.args else None)
        agent = agent if agent in self.agents else OTHER
        try:
            result = await super().execute_workflow(input)
        except workflow.ContinueAsNewError:
            raise
        except BaseException as exc:
            if is_cancelled_exception(exc):
                _count_finished(agent, "cancelled")
            elif isinstance(exc, FailureError):  # anything else fails the workflow task, which Temporal retries
                _count_finished(agent, "failed")
            raise
        _count_finished(agent, str(getattr(result, "outcome", "success")))
        return result


def _agent_of(start: object) -> str | None:
    """The agent of AgentWorkflow's input, a TaskRequestV1 or a TaskContinuationV1 (read by shape: inside the
    sandbox the contracts are the sandbox's own classes)."""
    agent = getattr(start, "agent", None) or getattr(getattr(start, "request", None), "agent", None)
    return agent if isinstance(agent, str) else None


def _count_finished(agent: str, outcome: str) -> None:
    meter = workflow.metric_meter()
    counter = meter.create_counter("baton_tasks_finished", "Tasks that ended, by agent and outcome.")
    counter.add(1, {"agent": agent, "outcome": outcome})
