"""The model boundary: build the chat model, count its usage, and turn provider errors into Temporal failures.

Retries belong to Temporal, not to the OpenAI SDK: the client is built with `max_retries=0`, and
`translate_llm_error` (baton.llm_errors, shared with the bot's front agent) decides what Temporal does with each
failure: 429, 5xx and timeouts are retried, a rejected key or a refused request is not.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from baton.llm_errors import MAX_RETRY_AFTER, translate_llm_error
from contracts import UsageV1
from contracts.names import LLM_ERROR_TYPES

__all__ = [
    "LLM_ERROR_TYPES",
    "MAX_RETRY_AFTER",
    "UsageCounter",
    "make_chat_model",
    "translate_llm_error",
]


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
