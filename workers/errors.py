"""Errors raised in Baton's workers, and how each reaches Temporal.

    AgentError (raised by an agent's node)   -> ApplicationError type "AgentFailed", non-retryable unless asked
    UnknownAgent (registry)                   -> ApplicationError type "UnknownAgent", non-retryable
    a resume the agent refuses                -> ApplicationError type "AgentFailed", non-retryable: LangGraph's
      (invalid for the interrupt's response_schema, or PlainAnswerRefused)   check gives the same answer every time
    a ValueError (or KeyError, TypeError)     -> ApplicationError type "AgentFailed", non-retryable: its checks of
      raised by LangChain's                     the decisions ("Unexpected human decision", a count or an edited
      HumanInTheLoopMiddleware itself           tool that does not fit) read the same saved state every time
    NoSafeDefault (workers.actions)           -> ApplicationError type "AgentFailed", non-retryable
    LLM provider errors                        -> workers.llm.translate_llm_error (429/5xx retried, 401/400 not)
    anything else                              -> retryable ApplicationError named after the exception type

`to_application_error` is the single place where that mapping happens, at the activity boundary.
"""

from __future__ import annotations

from langgraph.errors import is_invalid_resume
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from contracts.names import AGENT_FAILED, UNKNOWN_AGENT
from workers.actions import NoSafeDefault
from workers.llm import translate_llm_error
from workers.plain_answers import PlainAnswerRefused


class AgentError(Exception):
    """An agent's own, understood failure, with a message for the person who asked."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class UnknownAgent(Exception):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"Unknown agent '{name}'. Known agents: {', '.join(sorted(known)) or 'none'}.")


def to_application_error(exc: BaseException) -> ApplicationError:
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, AgentError):
        return ApplicationError(str(exc), type=AGENT_FAILED, non_retryable=not exc.retryable)
    if isinstance(exc, UnknownAgent):
        return ApplicationError(str(exc), type=UNKNOWN_AGENT, non_retryable=True)
    if isinstance(exc, PlainAnswerRefused) or is_invalid_resume(exc) or _refused_by_hitl_middleware(exc):
        return ApplicationError(f"The agent refused the answer: {_readable(exc)}", type=AGENT_FAILED,
                                non_retryable=True)
    if isinstance(exc, NoSafeDefault):
        return ApplicationError(str(exc), type=AGENT_FAILED, non_retryable=True)
    llm_error = translate_llm_error(exc)
    if llm_error is not None:
        return llm_error
    return ApplicationError(f"{type(exc).__name__}: {exc}", type=type(exc).__name__)


_HITL_MIDDLEWARE_MODULE = "langchain.agents.middleware.human_in_the_loop"


def _refused_by_hitl_middleware(exc: BaseException) -> bool:
    """Whether `exc` was raised in the HumanInTheLoopMiddleware's own code: a ValueError it raises on a decision it
    refuses, or the KeyError / TypeError of a resume value without the shape it reads (`["decisions"]`). It has no
    exception type of its own, so the raising frame is what tells these deterministic refusals apart from an agent's
    own errors, which keep their retries."""
    if not isinstance(exc, (ValueError, KeyError, TypeError)) or exc.__traceback__ is None:
        return False
    frame = exc.__traceback__
    while frame.tb_next is not None:
        frame = frame.tb_next
    return frame.tb_frame.f_globals.get("__name__") == _HITL_MIDDLEWARE_MODULE


def _readable(exc: BaseException) -> str:
    """One line naming the field, rather than pydantic's multi-line report."""
    if isinstance(exc, ValidationError) and exc.errors():
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or "the answer"
        return f"{field}: {problem['msg']}"
    if isinstance(exc, KeyError) and exc.args:
        return f"it has no {exc.args[0]!r}, which the agent reads"
    return str(exc)
