"""The front agent: answers mentions and DMs, and turns plain words into tasks.

It runs in the bot's `answer_in_thread` activity (bot/conversation_activity.py), on behalf of the thread's
ConversationWorkflow, which hands it the thread's recent turns as memory: a follow-up ("and the EU region?") reads
in the context of what was asked and answered before.

It is a LangGraph agent (langchain's `create_agent`) whose tools are the delegation tools `temporal_submit`,
`temporal_status` and `temporal_cancel`: it picks the worker agent and starts the task; Temporal does the long work.
Its model is ChatOpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set, else the scripted, labelled demo model
(bot/demo_front_model.py). With BATON_FRONT_AGENT=grammar there is no model: it understands the `/baton` grammar
(`run ops_audit check web-1`) and answers anything else with the help text.

A model's answer streams into the thread as it is written (`stream`, bot/answer_stream.py). It is plain text as far
as Slack is concerned: the model's words are made inert where they are sent (bot/blocks/markdown.py for streamed
markdown, bot/blocks/text.py for mrkdwn), so a reply can neither ping (`<!channel>`) nor disguise a link; only the
Mrkdwn of a `/baton` reply (a mention Baton built) stays live, and it is posted, never streamed.

A message from Slack's assistant pane may name the channel the person is viewing beside it (`context_channel`):
the model reads it as one line of its system prompt (`context_line`), never among the person's words, so a task
it starts is asked exactly what the person typed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from baton.graph_tracing import graph_callbacks
from bot.blocks import Mrkdwn
from bot.grammar import ParseError, parse_command
from bot.operations import HELP, catalog, execute
from bot.origin import SlackOrigin
from bot.services import BotServices
from bot.visibility import shared_in
from contracts import AgentInfoV1, ConversationTurnV1

__all__ = ["FrontAgent", "context_line"]

log = logging.getLogger(__name__)

ToolsFactory = Callable[[BotServices, SlackOrigin], list[Any]]


class FrontAgent:
    def __init__(self, services: BotServices, chat_model: Callable[[], BaseChatModel] | None = None,
                 tools: ToolsFactory | None = None) -> None:
        self._services = services
        self._chat_model = chat_model
        if tools is None:
            from bot.delegation import slack_delegation_tools

            tools = slack_delegation_tools
        self._tools = tools

    @property
    def uses_model(self) -> bool:
        return self._chat_model is not None

    async def answer(self, text: str, origin: SlackOrigin, memory: Sequence[ConversationTurnV1] = (),
                     context_channel: str | None = None) -> str:
        """The answer to `text`, with `memory` (the thread's earlier turns, oldest first) and the channel the person
        is viewing as the model's context; the grammar reads `text` alone."""
        if not text:
            return HELP
        if not self.uses_model:
            return await self._grammar(text, origin)
        return await self._agent(text, origin, memory, context_channel)

    async def _grammar(self, text: str, origin: SlackOrigin) -> str:
        command = parse_command(text)
        if isinstance(command, ParseError):
            return Mrkdwn("I run agents for you; without a model configured I understand these commands:\n") + HELP
        reply = await execute(self._services, command, origin, posted_in=shared_in(origin.channel_id))
        return reply.text

    async def stream(self, text: str, origin: SlackOrigin, memory: Sequence[ConversationTurnV1] = (),
                     context_channel: str | None = None) -> AsyncIterator[str]:
        """The model's answer as it writes it: its text deltas, as the model streams them (a model that does not
        stream gives its whole text at once). Text the model writes before calling a tool is part of the answer,
        each turn's text a paragraph. Only with a model (`uses_model`): the grammar's reply is Baton's own mrkdwn."""
        if self._chat_model is None:
            raise RuntimeError("the front agent streams only a model's answer")
        agent, messages = await self._graph(text, origin, memory, context_channel)
        config: Any = {"recursion_limit": 12, "callbacks": graph_callbacks()}
        turn, wrote = None, False
        async for chunk, _ in agent.astream({"messages": messages}, config, stream_mode="messages"):
            if not isinstance(chunk, AIMessage) or not isinstance(chunk.content, str) or not chunk.content:
                continue
            if wrote and chunk.id != turn:
                yield "\n\n"
            turn, wrote = chunk.id, True
            yield chunk.content

    async def _graph(self, text: str, origin: SlackOrigin, memory: Sequence[ConversationTurnV1],
                     context_channel: str | None) -> tuple[Any, list[Any]]:
        from langchain.agents import create_agent

        assert self._chat_model is not None
        prompt = self._prompt(await catalog(self._services))
        if context_channel:
            prompt = f"{prompt}\n\n{context_line(context_channel)}"
        agent = create_agent(self._chat_model(), self._tools(self._services, origin), system_prompt=prompt)
        return agent, [*_as_messages(memory), HumanMessage(text)]

    async def _agent(self, text: str, origin: SlackOrigin, memory: Sequence[ConversationTurnV1],
                     context_channel: str | None) -> str:
        if self._chat_model is None:
            return HELP
        agent, messages = await self._graph(text, origin, memory, context_channel)
        # With tracing on, its nodes and model calls are spans under the answer_in_thread activity's (baton.telemetry).
        result = await agent.ainvoke({"messages": messages}, {"recursion_limit": 12, "callbacks": graph_callbacks()})
        for message in reversed(result["messages"]):
            if isinstance(message, AIMessage) and isinstance(message.content, str) and message.content.strip():
                return message.content.strip()
        return "Done."

    @staticmethod
    def _prompt(agents: list[AgentInfoV1]) -> str:
        listing = "\n".join(f"- {a.name}: {a.description}" for a in agents)
        return (
            "You are Baton, a Slack assistant that delegates long jobs to durable worker agents. "
            "Pick the agent that fits the request and start it with temporal_submit; use temporal_status and "
            "temporal_cancel for questions about existing tasks. Do not do the work yourself. Agents:\n" + listing
        )


def context_line(channel_id: str) -> str:
    """What the model is told of the channel beside the assistant pane: a channel id (the contract admits nothing
    else), so the model may refer to it as a link; it is context for the answer, not part of any task's request."""
    return f"The person is viewing <#{channel_id}> beside the assistant pane."


def _as_messages(memory: Sequence[ConversationTurnV1]) -> list[BaseMessage]:
    """The thread's turns as chat history: people's words as human messages, Baton's answers as its own."""
    return [HumanMessage(t.text) if t.role == "person" else AIMessage(t.text) for t in memory if t.text]
