"""A decision LangChain's HumanInTheLoopMiddleware refuses fails the task at once with its reason: the middleware
reads the same saved state and the same answer on every attempt, so five retries would only delay the failure."""

from __future__ import annotations

from langchain.agents.middleware.human_in_the_loop import HumanInTheLoopMiddleware
from langchain_core.messages import ToolCall

from contracts.names import AGENT_FAILED
from workers.errors import to_application_error


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
