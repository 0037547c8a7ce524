"""baton.graph_tracing on real LangGraph graphs: a span per node and per model call, under the span current when the
graph runs; an interrupt is not an error; an error's description is scrubbed of secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from baton import redaction
from baton.graph_tracing import GraphTracer, graph_callbacks
from baton.redaction import Redactor


class State(TypedDict, total=False):
    answer: str
    approved: bool


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _graph(*nodes: tuple[str, Any]) -> Any:
    builder = StateGraph(State)
    previous = START
    for name, node in nodes:
        builder.add_node(name, node)
        builder.add_edge(previous, name)
        previous = name
    builder.add_edge(previous, END)
    return builder.compile(checkpointer=InMemorySaver())


def _parent_name(span: ReadableSpan, spans: list[ReadableSpan]) -> str | None:
    by_id = {s.context.span_id: s.name for s in spans}
    return by_id.get(span.parent.span_id) if span.parent is not None else None


async def test_each_node_and_model_call_is_a_span_under_the_span_current_when_the_graph_runs(
        provider: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    tracer_provider, exporter = provider
    model = FakeListChatModel(responses=["fine"])

    async def ask(state: State) -> State:
        reply = await model.ainvoke([HumanMessage("how is it?")])
        return {"answer": str(reply.content)}

    async def tidy(state: State) -> State:
        return {"answer": state["answer"].upper()}

    graph = _graph(("ask", ask), ("tidy", tidy))
    tracer = tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("RunActivity:run_agent"):
        config: Any = {"configurable": {"thread_id": "task-1"}, "callbacks": [GraphTracer(tracer)]}
        await graph.ainvoke({}, config)
    spans = list(exporter.get_finished_spans())
    named = {s.name: s for s in spans}
    assert sorted(named) == ["RunActivity:run_agent", "chat unknown", "langgraph.node ask", "langgraph.node tidy"], \
        "one span per node and per model call; the graph itself and a node's inner runnables get none"
    call = named["chat unknown"]  # the fake model names no model
    assert _parent_name(call, spans) == "langgraph.node ask"
    assert _parent_name(named["langgraph.node ask"], spans) == "RunActivity:run_agent"
    assert _parent_name(named["langgraph.node tidy"], spans) == "RunActivity:run_agent"
    assert (named["langgraph.node ask"].attributes or {})["baton.task_id"] == "task-1"
    assert "how is it?" not in str([dict(s.attributes or {}) for s in spans]), "no prompt in a span"


async def test_a_node_stopping_at_an_interrupt_is_not_an_error(
        provider: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    tracer_provider, exporter = provider

    async def review(state: State) -> State:
        return {"approved": bool(interrupt({"question": "go?"}))}

    graph = _graph(("review", review))
    config: Any = {"configurable": {"thread_id": "task-2"},
                   "callbacks": [GraphTracer(tracer_provider.get_tracer("test"))]}
    await graph.ainvoke({}, config)
    [span] = exporter.get_finished_spans()
    assert span.name == "langgraph.node review" and span.status.status_code == StatusCode.UNSET
    assert (span.attributes or {})["langgraph.interrupted"] is True


async def test_a_failing_nodes_span_says_so_without_the_secret_its_error_quoted(
        provider: tuple[TracerProvider, InMemorySpanExporter]) -> None:
    tracer_provider, exporter = provider
    secret = "configured-model-key-123456"
    previous = redaction.current()
    redaction.install(Redactor([secret]), logger=logging.getLogger("test-graph-tracing"))

    async def call(state: State) -> State:
        raise PermissionError(f"the provider refused key {secret}")

    graph = _graph(("call", call))
    config: Any = {"configurable": {"thread_id": "task-3"},
                   "callbacks": [GraphTracer(tracer_provider.get_tracer("test"))]}
    try:
        with pytest.raises(PermissionError):
            await graph.ainvoke({}, config)
    finally:
        redaction.install(previous, logger=logging.getLogger("test-graph-tracing"))
    [span] = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "PermissionError: the provider refused key [redacted]"
    assert (span.attributes or {})["error.type"] == "PermissionError"


def test_no_callback_is_added_while_tracing_is_off() -> None:
    assert graph_callbacks() == []
