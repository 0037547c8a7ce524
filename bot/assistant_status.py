"""The assistant pane's status line while Baton works on a message: "is checking the catalog…" when the message
arrives (bot.assistant), "is starting <agent>…" when the front agent starts a task for it (here, from the
delegation tool itself, so the status names the agent the model actually chose).

Slack clears the status when Baton's answer arrives in the thread. Only an assistant thread has a pane: a message in
a DM thread (not the DM's top level), where the pane's threads live; elsewhere nothing is set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from baton.tools import Delegate, tools_for
from bot.blocks.text import inert_label
from bot.origin import SlackOrigin
from bot.services import BotServices

__all__ = ["MAX_STATUS", "AnnouncingDelegate", "assistant_delegation_tools", "in_assistant_thread",
           "set_thread_status", "starting_status"]

log = logging.getLogger(__name__)
MAX_STATUS = 100
"""Baton's: a status is one short line under the thread (Slack documents no bound)."""


def starting_status(agent: str) -> str:
    """The pane's status while the conversation's answer starts `agent`."""
    return inert_label(f"is starting {agent}…", MAX_STATUS)


def in_assistant_thread(origin: SlackOrigin) -> bool:
    """Whether a message may be in an assistant thread: a reply in a DM's thread (the pane's threads are DM threads;
    a DM's top-level message has no pane)."""
    return (origin.channel_id.startswith("D") and origin.thread_ts is not None
            and origin.thread_ts != origin.identity_ts)


async def set_thread_status(client: AsyncWebClient, channel_id: str, thread_ts: str, status: str) -> bool:
    """Show `status` ("" clears it) under the assistant thread; False when Slack refused or could not be reached.
    Never raises: a status is a courtesy, and the answer must go on without it (a thread that is no assistant
    thread, an app without the assistant feature)."""
    try:
        await client.assistant_threads_setStatus(channel_id=channel_id, thread_ts=thread_ts,
                                                 status=inert_label(status, MAX_STATUS))
    except SlackApiError as exc:
        log.info("No assistant status in %s: Slack answered %s", channel_id, exc.response.get("error"))
        return False
    except (SlackClientError, OSError, TimeoutError) as exc:
        log.info("No assistant status in %s: %s", channel_id, type(exc).__name__)
        return False
    return True


@dataclass(frozen=True)
class AnnouncingDelegate:
    """bot.delegation's SlackDelegate that, in an assistant thread, says which agent it starts before starting it."""

    inner: Delegate
    """The SlackDelegate it wraps."""
    client: AsyncWebClient
    origin: SlackOrigin

    async def submit(self, agent: str, request: str, parameters: dict[str, Any]) -> str:
        thread_ts = self.origin.thread_ts
        if in_assistant_thread(self.origin) and thread_ts is not None and agent.strip():
            await set_thread_status(self.client, self.origin.channel_id, thread_ts, starting_status(agent.strip()))
        return await self.inner.submit(agent, request, parameters)

    async def status(self, task_id: str) -> str:
        return await self.inner.status(task_id)

    async def cancel(self, task_id: str, reason: str) -> str:
        return await self.inner.cancel(task_id, reason)


def assistant_delegation_tools(client: AsyncWebClient) -> Callable[[BotServices, SlackOrigin], list[BaseTool]]:
    """The front agent's tools factory (FrontAgent's `tools`): bot.delegation's tools, announcing in the pane."""

    def tools(services: BotServices, origin: SlackOrigin) -> list[BaseTool]:
        from bot.delegation import SlackDelegate  # as FrontAgent imports it: bot.delegation imports the operations

        return tools_for(AnnouncingDelegate(SlackDelegate(services, origin), client, origin))

    return tools
