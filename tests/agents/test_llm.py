"""workers.llm against real errors: the real ChatOpenAI talking to the fake server produces each provider fault."""

from __future__ import annotations

import socket
from datetime import timedelta

import openai
import pytest
from langchain_core.messages import HumanMessage
from temporalio.exceptions import ApplicationError

from sandbox.openai_server import FakeOpenAI, tool_call
from workers.llm import UsageCounter, make_chat_model, translate_llm_error


def _model(server: FakeOpenAI, **overrides: object):  # type: ignore[no-untyped-def]
    kwargs: dict[str, object] = {
        "model": "fake-model",
        "api_key": server.api_key,
        "base_url": server.base_url,
        "timeout": 5.0,
    }
    kwargs.update(overrides)
    return make_chat_model(**kwargs)  # type: ignore[arg-type]


async def _translated(server: FakeOpenAI, **overrides: object) -> ApplicationError:
    with pytest.raises(Exception) as caught:
        await _model(server, **overrides).ainvoke([HumanMessage("hi")])
    error = translate_llm_error(caught.value, secrets=[server.api_key, "sk-wrong-key-123456"])
    assert error is not None, f"not translated: {caught.value!r}"
    return error


async def test_sdk_retries_are_off_so_one_failure_is_one_call(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=500)
    await _translated(fake_openai)
    assert fake_openai.call_count == 1


async def test_rate_limit_is_retryable_after_the_providers_retry_after(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=429, retry_after=7)
    error = await _translated(fake_openai)
    assert (error.type, error.non_retryable, error.next_retry_delay) == ("LLMRateLimited", False, timedelta(seconds=7))
    assert "429" in error.message


async def test_rate_limit_without_retry_after_leaves_backoff_to_temporal(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=429)
    error = await _translated(fake_openai)
    assert (error.type, error.non_retryable, error.next_retry_delay) == ("LLMRateLimited", False, None)


async def test_huge_retry_after_is_capped(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=429, retry_after=86400)
    error = await _translated(fake_openai)
    assert error.next_retry_delay == timedelta(minutes=10)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retryable_unavailable(fake_openai: FakeOpenAI, status: int) -> None:
    fake_openai.fail_next(status=status, retry_after=2 if status == 503 else None)
    error = await _translated(fake_openai)
    assert (error.type, error.non_retryable) == ("LLMUnavailable", False)
    assert error.next_retry_delay == (timedelta(seconds=2) if status == 503 else None)


async def test_timeout_is_retryable_unavailable(fake_openai: FakeOpenAI) -> None:
    fake_openai.latency_s = 0.5
    fake_openai.script("late")
    error = await _translated(fake_openai, timeout=0.1)
    assert (error.type, error.non_retryable) == ("LLMUnavailable", False)
    assert "in time" in error.message


async def test_connection_refused_is_retryable_unavailable(fake_openai: FakeOpenAI) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = await _translated(fake_openai, base_url=f"http://127.0.0.1:{port}/v1")
    assert (error.type, error.non_retryable) == ("LLMUnavailable", False)
    assert "OPENAI_BASE_URL" in error.message


async def test_wrong_key_fails_fast_with_a_readable_message_without_the_key(fake_openai: FakeOpenAI) -> None:
    error = await _translated(fake_openai, api_key="sk-wrong-key-123456")
    assert (error.type, error.non_retryable) == ("LLMAuthError", True)
    assert error.message == "The model provider rejected Baton's API key (401). Check OPENAI_API_KEY."
    assert fake_openai.call_count == 1


async def test_provider_message_echoing_a_key_is_scrubbed(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=400, message=f"Invalid request from key {fake_openai.api_key} or sk-other-abcdef")
    error = await _translated(fake_openai)
    assert (error.type, error.non_retryable) == ("LLMBadRequest", True)
    assert fake_openai.api_key not in error.message and "sk-other" not in error.message
    assert "[redacted]" in error.message


async def test_forbidden_is_an_auth_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=403)
    error = await _translated(fake_openai)
    assert (error.type, error.non_retryable) == ("LLMAuthError", True)
    assert "(403)" in error.message


@pytest.mark.parametrize(("status", "hint"), [(400, "Invalid request"), (404, "BATON_MODEL"), (422, "422")])
async def test_client_errors_are_not_retried(fake_openai: FakeOpenAI, status: int, hint: str) -> None:
    fake_openai.fail_next(status=status)
    error = await _translated(fake_openai)
    assert (error.type, error.non_retryable) == ("LLMBadRequest", True)
    assert hint in error.message


async def test_wrapped_provider_errors_are_found_and_others_are_left_alone(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=429)
    try:
        try:
            await _model(fake_openai).ainvoke("hi")
        except Exception as inner:
            raise RuntimeError("node failed") from inner
    except RuntimeError as outer:
        translated = translate_llm_error(outer)
    assert translated is not None and translated.type == "LLMRateLimited"
    assert translate_llm_error(ValueError("not the model")) is None


async def test_usage_counter_adds_calls_and_tokens_from_invoke_and_stream(fake_openai: FakeOpenAI) -> None:
    fake_openai.script("first answer", tool_call("x", {"a": 1}), "streamed answer")
    counter = UsageCounter()
    model = _model(fake_openai)
    await model.ainvoke("one", config={"callbacks": [counter]})
    await model.ainvoke("two", config={"callbacks": [counter]})
    [c async for c in model.astream("three", config={"callbacks": [counter]})]
    served = fake_openai.ok_calls
    assert counter.usage.model_dump() == {
        "schema_version": 1,
        "llm_calls": 3,
        "input_tokens": sum(c.usage["prompt_tokens"] for c in served if c.usage),
        "output_tokens": sum(c.usage["completion_tokens"] for c in served if c.usage),
    }


async def test_usage_counter_counts_failed_calls_separately(fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(status=500)
    counter = UsageCounter()
    with pytest.raises(openai.InternalServerError):
        await _model(fake_openai).ainvoke("x", config={"callbacks": [counter]})
    assert counter.usage.llm_calls == 0 and counter.failed_calls == 1
