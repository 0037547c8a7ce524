"""A decision LangChain's HumanInTheLoopMiddleware refuses fails the task at once with its reason: the middleware
reads the same saved state and the same answer on every attempt, so five retries would only delay the failure."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware.human_in_the_loop import HumanInTheLoopMiddleware
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolCall
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from contracts.names import AGENT_FAILED
from workers.errors import to_application_error


@tool
def delete_rows(table: str, where: str) -> str:
    """Delete rows from a table."""
    return f"deleted from {table}"


class ScriptedModel(GenericFakeChatModel):
    """langchain_core's scripted chat model, taking tools as create_agent binds them (it ignores them)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def refusal() -> ValueError:
    call = ToolCall(name="delete_rows", args={"table": "orders"}, id="call-1")
    try:
        HumanInTheLoopMiddleware._process_decision({"type": "edit"}, call,  # type: ignore[arg-type]
                                                   {"allowed_decisions": ["approve", "reject"]})
    except ValueError as exc:
        return exc
    raise AssertionError("the middleware took an edit its config does not allow")


def test_an_unexpected_human_decision_fails_the_task_without_retries_and_says_why() -> None:
    error = to_application_error(refusal())
    assert error.non_retryable and error.type == AGENT_FAILED
    assert error.message.startswith("The agent refused the answer: Unexpected human decision")
    assert "'edit' is not allowed for tool 'delete_rows'" in error.message


def test_an_agents_own_value_error_keeps_its_retries() -> None:
    try:
        raise ValueError("the model returned nothing useful")
    except ValueError as exc:
        error = to_application_error(exc)
    assert not error.non_retryable and error.type == "ValueError"



async def test_a_resume_without_the_decisions_the_middleware_reads_fails_without_retries() -> None:
    call = ToolCall(name="delete_rows", args={"table": "orders", "where": "true"}, id="call-1")
    model = ScriptedModel(messages=iter([AIMessage("", tool_calls=[call])]))
    agent = create_agent(model, tools=[delete_rows], checkpointer=InMemorySaver(),
                         middleware=[HumanInTheLoopMiddleware(interrupt_on={"delete_rows": True})])
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    await agent.ainvoke({"messages": [{"role": "user", "content": "tidy up"}]}, config)
    try:
        await agent.ainvoke(Command(resume={"approved": True}), config)  # a guessed shape, not {"decisions": [...]}
    except KeyError as exc:
        error = to_application_error(exc)
    else:
        raise AssertionError("the middleware took a resume without decisions")
    assert error.non_retryable and error.type == AGENT_FAILED
    assert error.message == "The agent refused the answer: it has no 'decisions', which the agent reads"
