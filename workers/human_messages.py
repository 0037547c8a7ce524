"""The `human_messages` state channel: how an agent hears people who reply in its task's Slack thread.

An agent opts in by declaring the channel in its state (docs/agent-authors.md):

    class MyState(TypedDict, total=False):
        human_messages: HumanMessages

Baton's runner then adds each reply (a `HumanMessage`: the person's words, `name` their Slack user id, `id` the
Slack event id) at every step boundary: before the first step of a run, when a run resumes from a checkpoint, and
between any two steps of a running graph. The next node to run, and so its next model call, sees it. An agent
without the channel runs exactly as before, and its replies are kept by the workflow unread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph.message import add_messages

from contracts.thread_reply import ThreadReplyV1

__all__ = ["HUMAN_MESSAGES", "HumanMessages", "new_messages"]

HUMAN_MESSAGES = "human_messages"
"""The channel's name in an agent's state."""

HumanMessages = Annotated[list[AnyMessage], add_messages]
"""The channel's type: LangGraph's message reducer, so a message added again under its id replaces, never repeats."""


def new_messages(replies: Iterable[ThreadReplyV1], held: Sequence[Any]) -> list[HumanMessage]:
    """The replies the channel does not hold yet (`held` is its current value), as the agent reads them."""
    known = {getattr(message, "id", None) for message in held}
    return [HumanMessage(content=reply.text, name=reply.user_id, id=reply.event_id)
            for reply in replies if reply.event_id not in known]
