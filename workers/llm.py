"""The model boundary: build the chat model, count its usage, and turn provider errors into Temporal failures.

Retries belong to Temporal, not to the OpenAI SDK: the client is built with `max_retries=0`, and
`translate_llm_error` decides what Temporal does with each failure:

    openai error                              ApplicationError type   retried by Temporal
    RateLimitError (429)                      LLMRateLimited          yes, after Retry-After when the provider gives it
    5xx, 408, 409, timeouts, connection       LLMUnavailable          yes (Retry-After respected too)
    AuthenticationError / PermissionDenied    LLMAuthError            no: a person must fix the key
    400, 404, 422 and other 4xx               LLMBadRequest           no: the same request fails the same way
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import openai
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError

from baton.redaction import Redactor, scrub
from contracts import UsageV1
from contracts.names import (
    LLM_AUTH_ERROR,
    LLM_BAD_REQUEST,
    LLM_ERROR_TYPES,
    LLM_RATE_LIMITED,
    LLM_UNAVAILABLE,
)

__all__ = [
    "LLM_ERROR_TYPES",
    "MAX_RETRY_AFTER",
    "UsageCounter",
    "make_chat_model",
    "translate_llm_error",
]

MAX_RETRY_AFTER = timedelta(minutes=10)
"""A provider asking for a longer pause gets this one: a task should not sleep for hours on one header."""

_RETRYABLE_STATUS = {408, 409, 429}


def make_chat_model(
    *,
    model: str,
    api_key: str,
    base_url: str | None = None,
    timeout: float = 120.0,
    callbacks: Sequence[BaseCallbackHandler] | None = None,
) -> ChatOpenAI:
    """A `ChatOpenAI` for any OpenAI-compatible server, with SDK retries off so Temporal owns retrying."""
    return ChatOpenAI(
        model=model,
        api_key=SecretStr(api_key),
        base_url=base_url,
        timeout=timeout,
        max_retries=0,
        # Usage in streamed replies too (servers other than OpenAI's need asking), so UsageCounter sees tokens.
        stream_usage=True,
        callbacks=list(callbacks) if callbacks else None,
    )


class UsageCounter(BaseCallbackHandler):
    """Adds up finished model calls and their tokens, for `TaskResultV1.usage`.

    Attach it to a run (`config={"callbacks": [counter]}`) or to a model. It runs inline (no thread hop) and is
    safe to share between concurrent calls of one run.
    """

    run_inline = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls = 0
        self._input = 0
        self._output = 0
        self.failed_calls = 0

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        input_tokens = output_tokens = 0
        for generations in response.generations:
            for generation in generations:
                message: BaseMessage | None = generation.message if isinstance(generation, ChatGeneration) else None
                usage = getattr(message, "usage_metadata", None)
                if usage:
                    input_tokens += int(usage.get("input_tokens", 0))
                    output_tokens += int(usage.get("output_tokens", 0))
        if not input_tokens and not output_tokens and response.llm_output:
            token_usage = response.llm_output.get("token_usage") or {}
            input_tokens = int(token_usage.get("prompt_tokens", 0) or 0)
            output_tokens = int(token_usage.get("completion_tokens", 0) or 0)
        with self._lock:
            self._calls += 1
            self._input += input_tokens
            self._output += output_tokens

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        with self._lock:
            self.failed_calls += 1

    @property
    def usage(self) -> UsageV1:
        with self._lock:
            return UsageV1(llm_calls=self._calls, input_tokens=self._input, output_tokens=self._output)


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
