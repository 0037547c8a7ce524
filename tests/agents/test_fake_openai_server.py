"""The fake OpenAI server speaks the real protocol: the real ChatOpenAI client works against it unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from sandbox.openai_server import FakeOpenAI, tool_call


@tool
def lookup_host(host: str, verbose: bool = False) -> str:
    """Look up a host in the inventory."""
    return host


async def test_scripted_text_reply_reaches_chatopenai_with_usage(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    fake_openai.script("Hello from the fake model.")
    reply = await chat_model().ainvoke([HumanMessage("hi")])
    assert reply.content == "Hello from the fake model."
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > 0 and reply.usage_metadata["output_tokens"] > 0
    assert fake_openai.call_count == 1
    assert fake_openai.calls[0].last_user_text == "hi"
    assert fake_openai.calls[0].authorized


async def test_bound_tools_are_sent_and_scripted_tool_calls_come_back(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    fake_openai.script(tool_call("lookup_host", {"host": "web-1", "verbose": True}))
    reply = await chat_model().bind_tools([lookup_host]).ainvoke([HumanMessage("check web-1")])
    assert isinstance(reply, AIMessage)
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("lookup_host", {"host": "web-1", "verbose": True})]
    assert reply.tool_calls[0]["id"]
    assert fake_openai.calls[0].tool_names == ["lookup_host"]


async def test_streaming_delivers_text_tool_calls_and_usage(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    fake_openai.script("A longer streamed answer, in several chunks.", tool_call("lookup_host", {"host": "db-2"}))
    model = chat_model(stream_usage=True)
    chunks = [c async for c in model.astream([HumanMessage("stream please")])]
    full: Any = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert full.content == "A longer streamed answer, in several chunks."
    assert full.usage_metadata["output_tokens"] > 0
    chunks = [c async for c in model.bind_tools([lookup_host]).astream([HumanMessage("tool please")])]
    full = chunks[0]
    for c in chunks[1:]:
        full = full + c
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [("lookup_host", {"host": "db-2"})]
    assert all(c.stream for c in fake_openai.calls)


async def test_responder_routes_replies_by_request_content(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    fake_openai.respond_with(lambda body: "pong" if "ping" in str(body["messages"]) else None)
    fake_openai.script("from the queue")
    model = chat_model()
    assert (await model.ainvoke("ping")).content == "pong"
    assert (await model.ainvoke("other")).content == "from the queue"


async def test_rate_limit_fault_carries_retry_after_then_recovers(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    fake_openai.fail_next(1, status=429, retry_after=7).script("after the storm")
    model = chat_model()
    with pytest.raises(openai.RateLimitError) as caught:
        await model.ainvoke("hi")
    assert caught.value.response.headers["retry-after"] == "7"
    assert (await model.ainvoke("hi")).content == "after the storm"
    assert [c.status for c in fake_openai.calls] == [429, 200]


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, openai.InternalServerError), (400, openai.BadRequestError), (403, openai.PermissionDeniedError)],
)
async def test_injected_http_faults_raise_the_sdk_error(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI], status: int, error: type[Exception]
) -> None:
    fake_openai.fail_next(status=status)
    with pytest.raises(error):
        await chat_model().ainvoke("hi")


async def test_wrong_api_key_is_refused_with_401(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    fake_openai.script("never sent")
    with pytest.raises(openai.AuthenticationError):
        await chat_model(api_key="sk-wrong").ainvoke("hi")
    assert fake_openai.calls[0].status == 401 and fake_openai.pending_replies == 1


async def test_latency_beyond_client_timeout_raises_timeout(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    fake_openai.latency_s = 0.5
    fake_openai.script("too late")
    with pytest.raises(openai.APITimeoutError):
        await chat_model(timeout=0.1).ainvoke("hi")


async def test_unscripted_call_fails_loudly_with_400(
    fake_openai: FakeOpenAI, chat_model: Callable[..., ChatOpenAI]
) -> None:
    with pytest.raises(openai.BadRequestError, match="no scripted reply"):
        await chat_model().ainvoke("hi")
