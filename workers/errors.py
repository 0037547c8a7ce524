"""Errors raised in Baton's workers, and how each reaches Temporal.

    AgentError (raised by an agent's node)   -> ApplicationError type "AgentFailed", non-retryable unless asked
    UnknownAgent (registry)                   -> ApplicationError type "UnknownAgent", non-retryable
    LLM provider errors                        -> workers.llm.translate_llm_error (429/5xx retried, 401/400 not)
    anything else                              -> retryable ApplicationError named after the exception type

`to_application_error` is the single place where that mapping happens, at the activity boundary.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from contracts.names import AGENT_FAILED, UNKNOWN_AGENT
from workers.llm import translate_llm_error


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
    llm_error = translate_llm_error(exc)
    if llm_error is not None:
        return llm_error
    return ApplicationError(f"{type(exc).__name__}: {exc}", type=type(exc).__name__)
