"""Each interrupt convention, raised by a real LangGraph graph, resumes correctly with the adapter's value."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypedDict

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from contracts import CheckpointV1, DecisionKind, DecisionV1
from sandbox.openai_server import FakeOpenAI, tool_call
from workers.interrupts import checkpoint_from_interrupt, resume_command
from workers.plain_answers import PlainAnswers

NOW = datetime(2025, 1, 6, tzinfo=UTC)


def config() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


async def pending_checkpoint(graph: Any, cfg: dict[str, Any]) -> CheckpointV1:
    snapshot = await graph.aget_state(cfg)
    assert len(snapshot.interrupts) == 1, snapshot.interrupts
    pending = snapshot.interrupts[0]
    return checkpoint_from_interrupt(
        pending.id, pending.value, response_schema=getattr(pending, "response_schema", None)
    )


def decision(checkpoint: CheckpointV1, kind: DecisionKind, **extra: Any) -> DecisionV1:
    return DecisionV1(checkpoint_id=checkpoint.id, decision=kind, by="U1", at=NOW, **extra)


class QState(TypedDict, total=False):
    answer: Any


async def ask_plain(state: QState) -> QState:
    return {"answer": interrupt("Which region should the report cover?")}


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [("respond", {"text": "EMEA"}, "EMEA"), ("accept", {}, True), ("reject", {}, False)],
)
async def test_declared_plain_interrupt_resumes_with_the_declared_value(
    kind: DecisionKind, extra: dict[str, Any], expected: Any
) -> None:
    declared = PlainAnswers(approve=True, reject=False, respond="text")
    graph = StateGraph(QState).add_node("ask", ask_plain).add_edge(START, "ask").add_edge("ask", END)
    app = graph.compile(checkpointer=InMemorySaver())
    cfg = config()
    await app.ainvoke({}, cfg)
    pending = (await app.aget_state(cfg)).interrupts[0]
    checkpoint = checkpoint_from_interrupt(pending.id, pending.value, plain=declared)
    assert checkpoint.convention == "plain"
    final = await app.ainvoke(resume_command(checkpoint, decision(checkpoint, kind, **extra), declared), cfg)
    assert final["answer"] == expected


class ScopeState(TypedDict, total=False):
    scope: dict[str, Any]
    note: str
    outcome: str


async def confirm_scope(state: ScopeState) -> ScopeState:
    """Written exactly as the Agent Inbox documents it."""
    request = {
        "action_request": {"action": "confirm_scope", "args": state["scope"]},
        "config": {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True},
        "description": "Confirm the scope",
    }
    response = interrupt([request])[0]
    if response["type"] == "accept":
        return {"outcome": "accepted"}
    if response["type"] == "edit":
        return {"scope": response["args"]["args"], "outcome": "edited"}
    if response["type"] == "response":
        return {"note": response["args"], "outcome": "responded"}
    return {"outcome": "ignored"}


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("accept", {}, {"outcome": "accepted", "scope": {"region": "EMEA"}}),
        ("edit", {"edited_args": {"region": "APAC"}}, {"outcome": "edited", "scope": {"region": "APAC"}}),
        ("respond", {"text": "use Q1"}, {"outcome": "responded", "note": "use Q1", "scope": {"region": "EMEA"}}),
        ("ignore", {}, {"outcome": "ignored", "scope": {"region": "EMEA"}}),
    ],
)
async def test_agent_inbox_interrupt_resumes_with_a_one_item_list(
    kind: DecisionKind, extra: dict[str, Any], expected: dict[str, Any]
) -> None:
    graph = StateGraph(ScopeState).add_node("confirm", confirm_scope).add_edge(START, "confirm")
    app = graph.add_edge("confirm", END).compile(checkpointer=InMemorySaver())
    cfg = config()
    await app.ainvoke({"scope": {"region": "EMEA"}}, cfg)
    checkpoint = await pending_checkpoint(app, cfg)
    assert checkpoint.convention == "agent_inbox"
    final = await app.ainvoke(resume_command(checkpoint, decision(checkpoint, kind, **extra)), cfg)
    assert final == expected


deleted: list[str] = []


@tool
def delete_file(path: str) -> str:
    """Delete a file."""
    deleted.append(path)
    return f"deleted {path}"


@pytest.mark.parametrize("mode", ["batched", "per_call"])
@pytest.mark.parametrize(
    ("kind", "extra", "deleted_paths", "tool_result"),
    [
        ("accept", {}, ["/tmp/report"], "deleted /tmp/report"),
        ("edit", {"edited_args": {"path": "/tmp/other"}}, ["/tmp/other"], "deleted /tmp/other"),
        ("reject", {"text": "keep it"}, [], "User rejected the tool call for `delete_file` with reason: keep it"),
        ("respond", {"text": "I deleted it by hand"}, [], "I deleted it by hand"),
    ],
)
async def test_hitl_middleware_agent_resumes_with_each_decision(
    fake_openai: FakeOpenAI,
    chat_model: Callable[..., ChatOpenAI],
    mode: str,
    kind: DecisionKind,
    extra: dict[str, Any],
    deleted_paths: list[str],
    tool_result: str,
) -> None:
    deleted.clear()
    fake_openai.script(tool_call("delete_file", {"path": "/tmp/report"}), "Done.")
    agent = create_agent(
        chat_model(),
        tools=[delete_file],
        middleware=[HumanInTheLoopMiddleware(interrupt_on={"delete_file": True}, interrupt_mode=mode)],  # type: ignore[arg-type]
        checkpointer=InMemorySaver(),
    )
    cfg = config()
    await agent.ainvoke({"messages": [{"role": "user", "content": "delete the report"}]}, cfg)
    checkpoint = await pending_checkpoint(agent, cfg)
    assert checkpoint.convention == "hitl_middleware"
    assert checkpoint.proposed_action is not None and checkpoint.proposed_action.name == "delete_file"
    assert set(checkpoint.allowed_decisions) == {"accept", "edit", "reject", "respond"}
    assert fake_openai.call_count == 1 and deleted == []

    final = await agent.ainvoke(resume_command(checkpoint, decision(checkpoint, kind, **extra)), cfg)

    assert deleted == deleted_paths
    tool_messages = [m for m in final["messages"] if isinstance(m, ToolMessage)]
    assert len(tool_messages) == 1 and tool_result in str(tool_messages[0].content)
    assert final["messages"][-1].content == "Done."
    assert fake_openai.call_count == 2
