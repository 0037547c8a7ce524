"""Spans for an agent's LangGraph nodes and model calls, as children of the span current when the graph runs (the
`RunActivity:run_agent` span of temporalio's TracingInterceptor).

LangChain reports every runnable through callbacks, each with its own run id and its parent's. LangGraph runs a node
as a chain named after the node, with `langgraph_node` in its metadata; so do the runnables inside a node and the
graph itself, which get no span of their own: a run without a span hands its parent's span on to its children. A
model call (`on_chat_model_start`, or `on_llm_start` for a completion model) gets a `chat <model>` span with the
GenAI semantic conventions' attributes and token counts, never the prompt or the answer.

A node that stops at an interrupt (LangGraph raises GraphInterrupt) is not an error: its span says
`langgraph.interrupted`. Error descriptions are scrubbed (baton.redaction): a provider's error can quote a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult
from langgraph.errors import GraphBubbleUp
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from baton import telemetry
from baton.redaction import scrub

__all__ = ["GraphTracer", "graph_callbacks"]


def graph_callbacks() -> list[BaseCallbackHandler]:
    """The callbacks to add to a graph run's config: a fresh GraphTracer while tracing is on, else none."""
    return [GraphTracer()] if telemetry.tracing_enabled() else []


class GraphTracer(BaseCallbackHandler):
    """One per graph run (its map of open runs lives as long as the run). Called inline on the event loop: it only
    starts and ends spans, which never block."""

    run_inline = True
    raise_error = False  # a tracing problem must never fail an agent

    def __init__(self, tracer: trace.Tracer | None = None) -> None:
        self._tracer = tracer or telemetry.tracer(__name__)
        self._parents: dict[UUID, otel_context.Context] = {}
        """Per run id: the context its children start under (its own span's, or the one it inherited)."""
        self._spans: dict[UUID, Span] = {}
        self._nodes: dict[UUID, str] = {}

    # -- chains: the graph, its nodes, and what runs inside them ---------------------------------------------------

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID,
                       parent_run_id: UUID | None = None, tags: list[str] | None = None,
                       metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        parent = self._context_of(parent_run_id)
        node = (metadata or {}).get("langgraph_node")
        # A node's inner runnables inherit its metadata (and may share its name): only the outermost is the node.
        inside_node = parent_run_id is not None and self._nodes.get(parent_run_id) == node
        is_node = isinstance(node, str) and kwargs.get("name") == node and not inside_node
        if isinstance(node, str):
            self._nodes[run_id] = node
        if not is_node:
            self._parents[run_id] = parent
            return
        attributes: dict[str, str | int] = {"langgraph.node": str(node)}
        step = (metadata or {}).get("langgraph_step")
        if isinstance(step, int):
            attributes["langgraph.step"] = step
        thread = (metadata or {}).get("thread_id")
        if isinstance(thread, str):
            attributes["baton.task_id"] = thread  # the runner's thread id is the task id
        self._start(run_id, f"langgraph.node {node}", parent, attributes, SpanKind.INTERNAL)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # -- model calls -------------------------------------------------------------------------------------------

    def on_chat_model_start(self, serialized: dict[str, Any] | None, messages: list[list[Any]], *, run_id: UUID,
                            parent_run_id: UUID | None = None, tags: list[str] | None = None,
                            metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._start_model_call(run_id, parent_run_id, metadata or {}, kwargs.get("invocation_params") or {})

    def on_llm_start(self, serialized: dict[str, Any] | None, prompts: list[str], *, run_id: UUID,
                     parent_run_id: UUID | None = None, tags: list[str] | None = None,
                     metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._start_model_call(run_id, parent_run_id, metadata or {}, kwargs.get("invocation_params") or {},
                               operation="text_completion")

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        span = self._spans.get(run_id)
        if span is not None:
            for name, value in _usage(response).items():
                span.set_attribute(name, value)
        self._end(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # -- bookkeeping -------------------------------------------------------------------------------------------

    def _start_model_call(self, run_id: UUID, parent_run_id: UUID | None, metadata: Mapping[str, Any],
                          params: Mapping[str, Any], operation: str = "chat") -> None:
        model = metadata.get("ls_model_name") or params.get("model") or params.get("model_name") or "unknown"
        attributes: dict[str, str | int] = {"gen_ai.operation.name": operation, "gen_ai.request.model": str(model)}
        provider = metadata.get("ls_provider")
        if isinstance(provider, str):
            attributes["gen_ai.system"] = provider
        node = metadata.get("langgraph_node")
        if isinstance(node, str):
            attributes["langgraph.node"] = node
        self._start(run_id, f"{operation} {model}", self._context_of(parent_run_id), attributes, SpanKind.CLIENT)

    def _context_of(self, run_id: UUID | None) -> otel_context.Context:
        """Where a child of `run_id` starts: under that run's span, or, for the graph itself (no parent run, or one
        this handler never saw), under whatever span is current, the activity's."""
        if run_id is not None and run_id in self._parents:
            return self._parents[run_id]
        return otel_context.get_current()

    def _start(self, run_id: UUID, name: str, parent: otel_context.Context, attributes: Mapping[str, str | int],
               kind: SpanKind) -> None:
        span = self._tracer.start_span(name, context=parent, kind=kind, attributes=dict(attributes))
        self._spans[run_id] = span
        self._parents[run_id] = trace.set_span_in_context(span, parent)

    def _end(self, run_id: UUID, error: BaseException | None = None) -> None:
        self._parents.pop(run_id, None)
        self._nodes.pop(run_id, None)
        span = self._spans.pop(run_id, None)
        if span is None:
            return
        if isinstance(error, GraphBubbleUp):  # an interrupt (or a Command to a parent graph): control flow
            span.set_attribute("langgraph.interrupted", True)
        elif error is not None:
            span.set_status(Status(StatusCode.ERROR, scrub(f"{type(error).__name__}: {error}")[:300]))
            span.set_attribute("error.type", type(error).__name__)
        span.end()


def _usage(response: LLMResult) -> dict[str, int]:
    """Token counts of a model call, from the message's usage metadata (LangChain's own), when the provider gave
    them."""
    for generations in response.generations:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if isinstance(usage, Mapping):
                return {"gen_ai.usage.input_tokens": int(usage.get("input_tokens", 0)),
                        "gen_ai.usage.output_tokens": int(usage.get("output_tokens", 0))}
    return {}
