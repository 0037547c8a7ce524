"""Agents written to each human-in-the-loop convention as the LangChain and LangGraph documentation shows them (our
own code, following their pages), run unchanged under Baton. Each records what it received in `RECEIVED`, keyed by
task id, so a test can assert what the agent's code actually got: the tool's arguments, the resume value, memories.

    per_call_files   create_agent + HumanInTheLoopMiddleware(interrupt_mode="per_call"): write_file (any decision),
                     delete_rows (approve or reject only)
    inbox_deploy     one node raising an Agent Inbox HumanInterrupt; the request text picks its config flags
    review_edit      plain interrupt of a draft; Approve keeps the draft, Edit replaces it (declared)
    transfer         plain "approve or reject" interrupt, declared True / False
    free_question    plain interrupt, undeclared: the answer as typed
    hotel            create_agent whose tool calls interrupt() and expects {"type": "accept" | "edit", ...} (declared)
    notes, other_notes  a node that reads and writes LangGraph's store (own namespaces)
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Literal, TypedDict

from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.config import get_config, get_store
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import BaseModel

from contracts import TaskRequestV1, TaskResultV1
from workers.plain_answers import PlainAnswers
from workers.registry import AgentContext, AgentSpec

RECEIVED: defaultdict[str, list[Any]] = defaultdict(list)
"""task id -> what the agent's own code received, in order (the worker runs in the test's process)."""


def _task_id(config: RunnableConfig | None = None) -> str:
    return str((config or get_config())["configurable"]["thread_id"])


def _summary(state: dict[str, Any]) -> TaskResultV1:
    shown = {k: v for k, v in state.items() if k != "messages"}
    return TaskResultV1(outcome="success", summary=json.dumps(shown, default=str, sort_keys=True))


def _text_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"text": request.text}


def _messages_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": request.text}]}


def _spec(name: str, build: Any, initial: Any = _text_state, **extra: Any) -> AgentSpec:
    return AgentSpec(name=name, description=name, build=build, initial_state=initial, result_from_state=_summary,
                     **extra)


# -- HumanInTheLoopMiddleware, per call ------------------------------------------------------------------------


@tool
def write_file(path: str, content: str) -> str:
    """Write content to a file."""
    RECEIVED[_task_id()].append({"write_file": {"path": path, "content": content}})
    return f"wrote {len(content)} bytes to {path}"


@tool
def delete_rows(table: str, where: str) -> str:
    """Delete rows from a table."""
    RECEIVED[_task_id()].append({"delete_rows": {"table": table, "where": where}})
    return f"deleted from {table}"


def build_per_call(ctx: AgentContext) -> Any:
    middleware = HumanInTheLoopMiddleware(
        interrupt_on={"write_file": True, "delete_rows": {"allowed_decisions": ["approve", "reject"]}},
        interrupt_mode="per_call",
    )
    return create_agent(ctx.chat_model(), tools=[write_file, delete_rows], middleware=[middleware]).builder


# -- Agent Inbox -----------------------------------------------------------------------------------------------


class InboxState(TypedDict, total=False):
    text: str
    outcome: str


async def inbox_gate(state: InboxState) -> InboxState:
    allow = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}
    if "no-edit" in state["text"]:
        allow["allow_edit"] = False
    request = {
        "action_request": {"action": "deploy", "args": {"service": "web", "replicas": 2}},
        "config": allow,
        "description": "Deploy web with 2 replicas?",
    }
    response = interrupt([request])[0]
    RECEIVED[_task_id()].append(response)
    if response["type"] == "accept":
        return {"outcome": "deployed web x2"}
    if response["type"] == "edit":
        args = response["args"]["args"]
        return {"outcome": f"deployed {args['service']} x{args['replicas']}"}
    if response["type"] == "response":
        return {"outcome": f"asked: {response['args']}"}
    return {"outcome": "ignored"}


def build_inbox(ctx: AgentContext) -> StateGraph[InboxState]:
    """START -> inbox_gate -> END"""
    return StateGraph(InboxState).add_node("inbox_gate", inbox_gate).add_edge(START, "inbox_gate").add_edge(
        "inbox_gate", END)


# -- plain interrupts ------------------------------------------------------------------------------------------


class DraftState(TypedDict, total=False):
    text: str
    summary: str
    answer: Any
    approved: bool


class Summary(BaseModel):
    summary: str


async def review(state: DraftState) -> DraftState:
    """The "review and edit" pattern: the person sees the draft and returns the version to keep."""
    edited = interrupt({"task": "Review and edit this summary", "summary": f"Draft: {state['text']}"})
    RECEIVED[_task_id()].append(edited)
    return {"summary": edited["summary"]}


async def transfer(state: DraftState) -> DraftState:
    """The "approve or reject" pattern: the person's answer is a yes or a no."""
    approved = interrupt({"question": "Transfer $100 to ACME?", "amount": 100})
    RECEIVED[_task_id()].append(approved)
    return {"approved": bool(approved)}


async def ask(state: DraftState) -> DraftState:
    answer = interrupt("Which region should the report cover?")
    RECEIVED[_task_id()].append(answer)
    return {"answer": answer}


def _one_node(name: str, node: Any) -> Any:
    def build(ctx: AgentContext) -> StateGraph[DraftState]:
        return StateGraph(DraftState).add_node(name, node).add_edge(START, name).add_edge(name, END)

    return build


# -- an interrupt inside a tool --------------------------------------------------------------------------------


@tool
def book_hotel(hotel_name: str) -> str:
    """Book a stay at a hotel."""
    response = interrupt(f"Book a stay at {hotel_name}? Approve, or edit the hotel.")
    RECEIVED[_task_id()].append(response)
    if response["type"] == "edit":
        hotel_name = response["args"]["hotel_name"]
    elif response["type"] != "accept":
        return "The booking was not approved."
    return f"Booked a stay at {hotel_name}."


class HotelEdit(BaseModel):
    type: Literal["edit"] = "edit"
    args: dict[str, str]


def build_hotel(ctx: AgentContext) -> Any:
    return create_agent(ctx.chat_model(), tools=[book_hotel]).builder


# -- a store ---------------------------------------------------------------------------------------------------


class NotesState(TypedDict, total=False):
    text: str
    recalled: list[str]


async def remember(state: NotesState) -> NotesState:
    """Reads every memory of the requester, then saves this request as a new one (LangGraph's store API)."""
    store = get_store()
    namespace = ("memories", "U_REQUESTER")
    recalled = sorted(str(item.value["text"]) for item in await store.asearch(namespace))
    await store.aput(namespace, _task_id(), {"text": state["text"]})
    return {"recalled": recalled}


def build_notes(ctx: AgentContext) -> StateGraph[NotesState]:
    """START -> remember -> END"""
    return StateGraph(NotesState).add_node("remember", remember).add_edge(START, "remember").add_edge("remember", END)


SPECS = [
    _spec("per_call_files", build_per_call, _messages_state),
    _spec("inbox_deploy", build_inbox),
    _spec("review_edit", _one_node("review", review), plain_answers={
        "review": PlainAnswers(approve=lambda asked: {"summary": asked["summary"]}, edit_schema=Summary)}),
    _spec("transfer", _one_node("transfer", transfer), plain_answers={
        "transfer": PlainAnswers(approve=True, reject=False)}),
    _spec("free_question", _one_node("ask", ask)),
    _spec("hotel", build_hotel, _messages_state, plain_answers={
        "tools": PlainAnswers(approve={"type": "accept"}, reject={"type": "reject"}, edit_schema=HotelEdit)}),
]
NOTES = _spec("notes", build_notes, store=True)
OTHER_NOTES = _spec("other_notes", build_notes, store=True)
