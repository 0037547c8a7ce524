"""The shell of Baton's scripted chat models (the worker's demo model and the front agent's): a LangChain chat model
with no network that answers from a script, binds tools like a real provider, and labels what it writes, so an
offline run is never mistaken for a real model's. Imports nothing but langchain_core, so bot/ and workers/ may both
subclass it without importing each other."""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

__all__ = ["DEMO_LABEL", "ScriptedChatModel"]

DEMO_LABEL = "[demo model]"
"""Every text a scripted model writes starts with (or carries) this label."""


class ScriptedChatModel(BaseChatModel):
    """A subclass writes `_script`, the reply to a conversation given the tools bound to it; the shell runs it sync
    and async, as a real provider would be run, and binds tools in OpenAI's format so the script sees their names."""

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return self._result(messages, kwargs.get("tools") or [])

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return self._result(messages, kwargs.get("tools") or [])

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        """The scripted reply streamed as a provider streams it: text a word at a time, a tool call in one chunk."""
        reply = self._script(messages, _tool_names(kwargs.get("tools") or []))
        if reply.tool_calls:
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=[
                {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i, "type": "tool_call_chunk"}
                for i, c in enumerate(reply.tool_calls)]))
            return
        for word in re.findall(r"\S+\s*|\s+", reply.content if isinstance(reply.content, str) else str(reply.content)):
            if run_manager is not None:
                await run_manager.on_llm_new_token(word)
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))

    def _result(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._script(messages, _tool_names(tools)))])

    @abstractmethod
    def _script(self, messages: list[BaseMessage], tool_names: set[str]) -> AIMessage:
        """The reply to `messages`: text, or a call of one of `tool_names`."""


def _tool_names(tools: list[dict[str, Any]]) -> set[str]:
    return {name for t in tools if isinstance(name := t.get("function", {}).get("name"), str)}
