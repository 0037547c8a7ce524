"""Model-provider errors as Temporal failures: the one mapping for every process that calls a model (a worker's
`run_agent`, the bot's front agent in `answer_in_thread`), so both retry the same failures the same way.

Retries belong to Temporal, not to the OpenAI SDK (clients are built with `max_retries=0`):

    openai error                              ApplicationError type   retried by Temporal
    RateLimitError (429)                      LLMRateLimited          yes, after Retry-After when the provider gives it
    5xx, 408, 409, timeouts, connection       LLMUnavailable          yes (Retry-After respected too)
    AuthenticationError / PermissionDenied    LLMAuthError            no: a person must fix the key
    400, 404, 422 and other 4xx               LLMBadRequest           no: the same request fails the same way

A leaf: openai, temporalio's exceptions, the redactor and the contracts' names only, so a worker imports it without
the rest of `baton`.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Sequence
from datetime import timedelta

import openai
from temporalio.exceptions import ApplicationError

from baton.redaction import Redactor, scrub
from contracts.names import LLM_AUTH_ERROR, LLM_BAD_REQUEST, LLM_RATE_LIMITED, LLM_UNAVAILABLE

__all__ = ["MAX_RETRY_AFTER", "translate_llm_error"]

MAX_RETRY_AFTER = timedelta(minutes=10)
"""A provider asking for a longer pause gets this one: a task should not sleep for hours on one header."""

_RETRYABLE_STATUS = {408, 409, 429}


def translate_llm_error(exc: BaseException, *, secrets: Sequence[str] = ()) -> ApplicationError | None:
    """The Temporal failure for a model-provider error, or None when `exc` did not come from the provider.

    Looks through `__cause__` / `__context__`, since LangChain and LangGraph may wrap the SDK's error. Use as
    `raise translate_llm_error(exc) from exc`. Messages never carry the API key: the process's redactor
    (baton.redaction) scrubs them, and `secrets` too.
    """
    error = _find_openai_error(exc)
    if error is None:
        return None
    if isinstance(error, openai.APIStatusError):
        return _from_status(error, secrets)
    if isinstance(error, openai.APITimeoutError):
        return ApplicationError("The model provider did not answer in time; Baton will retry.", type=LLM_UNAVAILABLE)
    if isinstance(error, openai.APIConnectionError):
        return ApplicationError(
            "Baton could not reach the model provider (connection failed); Baton will retry. "
            "Check OPENAI_BASE_URL if this persists.",
            type=LLM_UNAVAILABLE,
        )
    return ApplicationError(
        f"The model provider returned an unusable answer: {_scrub(str(error), secrets)}",
        type=LLM_BAD_REQUEST,
        non_retryable=True,
    )


def _from_status(error: openai.APIStatusError, secrets: Sequence[str]) -> ApplicationError:
    status = error.status_code
    detail = _scrub(_provider_message(error), secrets)
    if status in (401, 403):
        return ApplicationError(
            f"The model provider rejected Baton's API key ({status}). Check OPENAI_API_KEY"
            + (" and that the key may use this model." if status == 403 else "."),
            type=LLM_AUTH_ERROR,
            non_retryable=True,
        )
    delay = _retry_after(error)
    if status == 429:
        wait = f" Retrying in {delay.total_seconds():g} s as the provider asked." if delay else " Baton will retry."
        return ApplicationError(
            f"The model provider is rate limiting Baton (429).{wait}",
            type=LLM_RATE_LIMITED,
            next_retry_delay=delay,
        )
    if status >= 500 or status in _RETRYABLE_STATUS:
        return ApplicationError(
            f"The model provider is unavailable ({status}): {detail}. Baton will retry.",
            type=LLM_UNAVAILABLE,
            next_retry_delay=delay,
        )
    hint = " Check BATON_MODEL." if status == 404 else ""
    return ApplicationError(
        f"The model provider refused the request ({status}): {detail}.{hint}",
        type=LLM_BAD_REQUEST,
        non_retryable=True,
    )


def _find_openai_error(exc: BaseException) -> openai.OpenAIError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, openai.OpenAIError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _provider_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"][:300]
    return (error.message or "no details")[:300]


def _retry_after(error: openai.APIStatusError) -> timedelta | None:
    """Retry-After (seconds or an HTTP date) or retry-after-ms, capped at MAX_RETRY_AFTER."""
    headers = error.response.headers
    seconds: float | None = None
    if (ms := headers.get("retry-after-ms")) is not None:
        seconds = _as_float(ms, 1000)
    if seconds is None and (value := headers.get("retry-after")) is not None:
        seconds = _as_float(value, 1)
        if seconds is None:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                seconds = email.utils.mktime_tz(parsed) - time.time()
    if seconds is None or seconds <= 0:
        return None
    return min(timedelta(seconds=seconds), MAX_RETRY_AFTER)


def _as_float(value: str, divisor: int) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number / divisor if number == number and number != float("inf") else None


def _scrub(message: str, secrets: Sequence[str]) -> str:
    return Redactor(secrets).scrub(scrub(message))
