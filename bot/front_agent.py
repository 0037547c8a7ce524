"""The front agent: answers mentions and DMs, and turns plain words into tasks.

It runs in the bot's `answer_in_thread` activity (bot/conversation_activity.py), on behalf of the thread's
ConversationWorkflow, which hands it the thread's recent turns as memory: a follow-up ("and the EU region?") reads
in the context of what was asked and answered before.

It is a LangGraph agent (langchain's `create_agent`) whose tools are the delegation tools `temporal_submit`,
`temporal_status` and `temporal_cancel`: it picks the worker agent and starts the task; Temporal does the long work.
Its model is ChatOpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set, else the scripted, labelled demo model
(bot/demo_front_model.py). With BATON_FRONT_AGENT=grammar there is no model: it understands the `/baton` grammar
(`run ops_audit check web-1`) and answers anything else with the help text.

An answer is plain text as far as Slack is concerned: the model's words are escaped where they are posted
(bot/conversation_activity.py), so a reply can neither ping (`<!channel>`) nor disguise a link; only the Mrkdwn of a
`/baton` reply (a mention Baton built) stays live.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
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

__all__ = ["FrontAgent"]

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

    async def answer(self, text: str, origin: SlackOrigin, memory: Sequence[ConversationTurnV1] = ()) -> str:
        """The answer to `text`, with `memory` (the thread's earlier turns, oldest first) as the model's context; the
        grammar reads `text` alone."""
        if not text:
            return HELP
        if not self.uses_model:
            return await self._grammar(text, origin)
        return await self._agent(text, origin, memory)

    async def _grammar(self, text: str, origin: SlackOrigin) -> str:
        command = parse_command(text)
        if isinstance(command, ParseError):
            return Mrkdwn("I run agents for you; without a model configured I understand these commands:\n") + HELP
        reply = await execute(self._services, command, origin, posted_in=shared_in(origin.channel_id))
        return reply.text

    async def _agent(self, text: str, origin: SlackOrigin, memory: Sequence[ConversationTurnV1]) -> str:
        from langchain.agents import create_agent

        if self._chat_model is None:
            return HELP
        prompt = self._prompt(await catalog(self._services))
        agent = create_agent(self._chat_model(), self._tools(self._services, origin), system_prompt=prompt)
        messages: list[Any] = [*_as_messages(memory), HumanMessage(text)]
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


def _as_messages(memory: Sequence[ConversationTurnV1]) -> list[BaseMessage]:
    """The thread's turns as chat history: people's words as human messages, Baton's answers as its own."""
    return [HumanMessage(t.text) if t.role == "person" else AIMessage(t.text) for t in memory if t.text]
