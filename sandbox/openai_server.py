"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, for tests that use the real `ChatOpenAI`.

The real `langchain_openai.ChatOpenAI` (and the `openai` SDK under it) talks to it unchanged over HTTP: tests
script the model's replies (text or tool calls), route replies by request content, inject provider faults
(429 with Retry-After, 5xx, 401, 400, latency) and count the calls the model saw.

    async with FakeOpenAI() as llm:
        llm.script(tool_call("inspect", {"host": "web-1"}), "All good.")
        model = ChatOpenAI(base_url=llm.base_url, api_key=llm.api_key, model="fake", max_retries=0)
        ...
        assert llm.call_count == 2
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["FakeOpenAI", "Fault", "RecordedCall", "Reply", "ToolCallReply", "text", "tool_call", "tool_calls"]

DEFAULT_API_KEY = "sk-test-fake-openai-key"


@dataclass(frozen=True)
class ToolCallReply:
    name: str
    args: dict[str, Any]
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted assistant message: text, tool calls, or both."""

    content: str = ""
    tool_calls: tuple[ToolCallReply, ...] = ()


def text(content: str) -> Reply:
    return Reply(content=content)


def tool_call(name: str, args: dict[str, Any] | None = None, *, id: str | None = None, content: str = "") -> Reply:
    return Reply(content=content, tool_calls=(ToolCallReply(name, dict(args or {}), id),))


def tool_calls(*calls: ToolCallReply | tuple[str, dict[str, Any]], content: str = "") -> Reply:
    parsed = tuple(c if isinstance(c, ToolCallReply) else ToolCallReply(c[0], dict(c[1])) for c in calls)
    return Reply(content=content, tool_calls=parsed)


ScriptItem = Reply | str
Responder = Callable[[dict[str, Any]], ScriptItem | None]


@dataclass(frozen=True)
class Fault:
    """An error response the server gives instead of a reply (once per call it applies to)."""

    status: int
    retry_after: float | None = None
    message: str | None = None
    delay_s: float = 0.0


@dataclass
class RecordedCall:
    """One request the server received, and what it answered."""

    body: dict[str, Any]
    authorized: bool
    status: int = 0
    reply: Reply | None = None
    usage: dict[str, int] | None = None
    """The token counts the server reported for this call (200 answers only)."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def tool_names(self) -> list[str]:
        return [t.get("function", {}).get("name", "") for t in self.body.get("tools", []) or []]

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def text_of(self, role: str) -> str:
        """All text of the messages with `role`, joined (content may be a string or a list of parts)."""
        return "\n".join(_content_text(m.get("content")) for m in self.messages if m.get("role") == role)

    @property
    def last_user_text(self) -> str:
        users = [m for m in self.messages if m.get("role") == "user"]
        return _content_text(users[-1].get("content")) if users else ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _tokens(text: str) -> int:
    """A stable, realistic-looking token estimate (about 4 characters a token)."""
    return max(1, (len(text) + 3) // 4)


def _error_body(status: int, message: str | None) -> dict[str, Any]:
    kinds = {
        400: ("invalid_request_error", None, "Invalid request."),
        401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
        403: ("permission_error", None, "You are not allowed to use this model."),
        404: ("invalid_request_error", "model_not_found", "The model does not exist."),
        429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    }
    type_, code, default = kinds.get(status, ("server_error", None, "The server had an error."))
    return {"error": {"message": message or default, "type": type_, "param": None, "code": code}}


class FakeOpenAI:
    """The fake server. Use as an async context manager, or call `start()` / `stop()`."""

    def __init__(self, *, api_key: str = DEFAULT_API_KEY, model: str = "fake-model") -> None:
        self.api_key = api_key
        self.model = model
        self.latency_s = 0.0
        """Delay added to every call before it is answered (for timeouts and concurrency benchmarks)."""
        self.calls: list[RecordedCall] = []
        self._queue: deque[ScriptItem] = deque()
        self._responder: Responder | None = None
        self._faults: deque[Fault] = deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._changed = asyncio.Condition()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    async def start(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    # -- scripting ---------------------------------------------------------------------------------------------

    def script(self, *replies: ScriptItem) -> FakeOpenAI:
        """Queue replies, answered in order (a `str` is a text reply)."""
        self._queue.extend(replies)
        return self

    def respond_with(self, responder: Responder | None) -> FakeOpenAI:
        """Answer with `responder(request_json)`; when it returns None, the queue answers."""
        self._responder = responder
        return self

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 429,
        retry_after: float | None = None,
        message: str | None = None,
        delay_s: float = 0.0,
    ) -> FakeOpenAI:
        """Answer the next `n` calls with an error (they still count as calls)."""
        self._faults.extend(Fault(status, retry_after, message, delay_s) for _ in range(n))
        return self

    def reset(self) -> None:
        self.calls.clear()
        self._queue.clear()
        self._faults.clear()
        self._responder = None
        self.latency_s = 0.0

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def ok_calls(self) -> list[RecordedCall]:
        return [c for c in self.calls if c.status == 200]

    @property
    def pending_replies(self) -> int:
        return len(self._queue)

    async def wait_for_calls(self, n: int) -> None:
        """Wait until at least `n` calls arrived (a condition, not a sleep); bound it with `asyncio.timeout`."""
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.calls) >= n)

    # -- HTTP --------------------------------------------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        auth = request.headers.get("Authorization", "")
        call = RecordedCall(body=body, authorized=auth.startswith("Bearer ") and len(auth) > len("Bearer "))
        self.calls.append(call)
        async with self._changed:
            self._changed.notify_all()

        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if not call.authorized:
            return self._error(call, 401, "You didn't provide an API key.")
        if auth != f"Bearer {self.api_key}":
            return self._error(call, 401, "Incorrect API key provided.")
        if self._faults:
            fault = self._faults.popleft()
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            headers = {"Retry-After": _fmt_seconds(fault.retry_after)} if fault.retry_after is not None else {}
            return self._error(call, fault.status, fault.message, headers)

        reply = self._next_reply(body)
        if reply is None:
            return self._error(call, 400, f"fake OpenAI server: no scripted reply left for call #{len(self.calls)}")
        call.reply, call.status = reply, 200
        prompt_tokens = _tokens(json.dumps(body.get("messages", [])) + json.dumps(body.get("tools", [])))
        completion_tokens = _tokens(reply.content + "".join(json.dumps(t.args) + t.name for t in reply.tool_calls))
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        call.usage = usage
        if body.get("stream"):
            return await self._stream(request, body, reply, usage)
        return web.json_response(self._completion(body, reply, usage))

    def _next_reply(self, body: dict[str, Any]) -> Reply | None:
        item: ScriptItem | None = self._responder(body) if self._responder else None
        if item is None and self._queue:
            item = self._queue.popleft()
        if item is None:
            return None
        return Reply(content=item) if isinstance(item, str) else item

    def _error(
        self, call: RecordedCall, status: int, message: str | None, headers: dict[str, str] | None = None
    ) -> web.Response:
        call.status = status
        return web.json_response(_error_body(status, message), status=status, headers=headers or {})

    def _tool_call_json(self, reply: Reply) -> Iterator[dict[str, Any]]:
        for tc in reply.tool_calls:
            yield {
                "id": tc.id or f"call_{next(self._ids)}",
                "type": "function",
                "function": {"name": tc.name, "arguments": json.dumps(tc.args)},
            }

    def _completion(self, body: dict[str, Any], reply: Reply, usage: dict[str, int]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or None, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = list(self._tool_call_json(reply))
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": usage,
            "system_fingerprint": "fp_fake",
        }

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: Reply, usage: dict[str, int]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        base = {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "system_fingerprint": "fp_fake",
        }

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {**base, "choices": choices, **extra}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        content = reply.content
        for start in range(0, len(content), 16):
            await send([{"index": 0, "delta": {"content": content[start : start + 16]}, "finish_reason": None}])
        for index, tc in enumerate(self._tool_call_json(reply)):
            args = tc["function"]["arguments"]
            head = {
                "index": index,
                "id": tc["id"],
                "type": "function",
                "function": {"name": tc["function"]["name"], "arguments": ""},
            }
            await send([{"index": 0, "delta": {"tool_calls": [head]}, "finish_reason": None}])
            for start in range(0, len(args), 24):
                part = {"index": index, "function": {"arguments": args[start : start + 24]}}
                await send([{"index": 0, "delta": {"tool_calls": [part]}, "finish_reason": None}])
        finish = "tool_calls" if reply.tool_calls else "stop"
        await send([{"index": 0, "delta": {}, "finish_reason": finish}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
