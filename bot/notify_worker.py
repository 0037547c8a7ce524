"""The bot's Temporal side: one worker on BATON_NOTIFY_TASK_QUEUE running the `notify` and `answer_in_thread`
activities. `python -m bot` runs it next to its Slack listener; `baton notifier` (bot.notifier_main) runs it alone,
for a front door that cannot hold a long-lived worker (the AWS Lambda one, bot.serverless). Both build it from the
same settings and services, so a thread looks the same whichever process posts to it.

It is not a versioned worker (Worker Versioning, docs/upgrading.md): activities are never replayed, so a build id
would protect nothing here, and Temporal gives an activity whose queue is outside the workflow's deployment version to
that queue's own pollers. Bot releases therefore roll on their own, bound to the workers only by the contracts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client
from temporalio.worker import Worker

from bot.assistant_status import assistant_delegation_tools
from bot.conversation_activity import ConversationAnswers
from bot.front_agent import FrontAgent
from bot.notifier import SlackNotifier
from bot.services import BotServices
from bot.settings import BotSettings

__all__ = ["NotifyWorker", "chat_model_factory"]


def chat_model_factory(settings: BotSettings) -> Callable[[], Any] | None:
    """The front agent's model (BATON_FRONT_AGENT): ChatOpenAI on any OpenAI-compatible server when OPENAI_API_KEY
    or OPENAI_BASE_URL is set, else the scripted, labelled demo model; None for the `/baton` grammar alone."""
    kind = settings.front_agent
    if kind == "grammar":
        return None
    if kind == "demo":
        from bot.demo_front_model import DemoFrontModel

        return DemoFrontModel

    def make() -> Any:
        from langchain_openai import ChatOpenAI

        api_key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "not-needed"
        return ChatOpenAI(model=settings.model_name, base_url=settings.openai_base_url, api_key=api_key,
                          max_retries=0, timeout=30.0)  # Temporal retries the answer_in_thread activity

    return make


class NotifyWorker:
    """The two activities and the worker that runs them, started and stopped as one part."""

    def __init__(self, temporal: Client, slack: AsyncWebClient, services: BotServices, *,
                 chat_model: Callable[[], Any] | None = None, tools: Callable[..., list[Any]] | None = None) -> None:
        settings = services.settings
        self.notifier = SlackNotifier(slack, services.gateway, services.links, status_style=settings.baton_status_style,
                                      agent_sessions=settings.baton_agent_sessions)
        front_agent = FrontAgent(services, chat_model if chat_model is not None else chat_model_factory(settings),
                                 tools if tools is not None else assistant_delegation_tools(slack))
        self.answers = ConversationAnswers(slack, front_agent, services.members)
        self.task_queue = settings.baton_notify_task_queue
        self._temporal = temporal
        self.worker: Worker | None = None
        """Built at start, not here: a Worker registers its task queue when it is built, so one built for a start
        that fails would keep another bot off the queue until the process ends."""
        self._running: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.worker = Worker(self._temporal, task_queue=self.task_queue,
                             activities=[self.notifier.notify, self.answers.answer_in_thread])
        self._running = asyncio.create_task(self.worker.run(), name="baton-notify-worker")

    async def stop(self) -> None:
        """Let the activities in flight finish; Temporal gives what is left to another worker on the queue."""
        if self._running is not None and self.worker is not None:
            await self.worker.shutdown()
            await self._running
            self._running = None
