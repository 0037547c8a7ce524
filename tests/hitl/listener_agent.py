"""A test-only agent that hears its thread: it declares the `human_messages` channel.

    START --(request starts with "ask")--> ask (plain interrupt: a question, respond allowed) -> END
          --(otherwise)----------------> draft (model call 1) -> revise (model call 2, the replies in its prompt) -> END
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from contracts import TaskRequestV1, TaskResultV1
from workers.human_messages import HumanMessages
from workers.registry import AgentContext, AgentSpec

QUESTION = "Which region should the report cover?"


class ListenerState(TypedDict, total=False):
    request_text: str
    human_messages: HumanMessages
    draft: str
    final: str
    answer: str


async def draft(state: ListenerState, *, chat_model: Callable[[], BaseChatModel]) -> ListenerState:
    reply = await chat_model().ainvoke([SystemMessage("DRAFT a note."), HumanMessage(state.get("request_text", ""))])
    return {"draft": str(reply.content)}


async def revise(state: ListenerState, *, chat_model: Callable[[], BaseChatModel]) -> ListenerState:
    """What people said in the thread goes into the prompt as their own messages."""
    prompt = [SystemMessage("REVISE the draft with what people said."), HumanMessage(state.get("draft", "")),
              *state.get("human_messages", [])]
    reply = await chat_model().ainvoke(prompt)
    return {"final": str(reply.content)}


async def ask(state: ListenerState) -> ListenerState:
    return {"answer": str(interrupt(QUESTION))}


def route(state: ListenerState) -> str:
    return "ask" if state.get("request_text", "").startswith("ask") else "draft"


def build(ctx: AgentContext) -> StateGraph[ListenerState]:
    builder = StateGraph(ListenerState)
    builder.add_node("ask", ask)
    builder.add_node("draft", partial(draft, chat_model=ctx.chat_model))
    builder.add_node("revise", partial(revise, chat_model=ctx.chat_model))
    builder.add_conditional_edges(START, route, ["ask", "draft"])
    builder.add_edge("draft", "revise")
    builder.add_edge("revise", END)
    builder.add_edge("ask", END)
    return builder


def initial_state(request: TaskRequestV1) -> dict[str, Any]:
    return {"request_text": request.text}


def result_from_state(state: dict[str, Any]) -> TaskResultV1:
    heard = [str(m.content) for m in state.get("human_messages", [])]
    summary = f"answer: {state['answer']}" if "answer" in state else f"{state.get('final', '')} (heard {heard})"
    return TaskResultV1(outcome="success", summary=summary)


SPEC = AgentSpec(
    name="listener",
    description="Test agent: hears replies in its thread.",
    build=build,
    initial_state=initial_state,
    result_from_state=result_from_state,
    total_steps=2,
)
