"""The front agent's delegation tools (baton.tools), bound to one Slack request.

They run the same operations as `/baton` (bot.operations), so a task the model starts has the task id derived from
the Slack message (a redelivered mention, or a model that calls the tool twice, starts one task), and a cancel the
model asks for is checked against the task's policy for the person who wrote the message, not for the bot. They
read tasks as that person, and as the conversation the answer is posted in: in a channel, only that channel's tasks
(bot.visibility), since everyone there reads the model's reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool

from baton.tools import tools_for
from bot.grammar import RunCommand, StatusCommand
from bot.operations import cancel, execute, run
from bot.origin import SlackOrigin
from bot.services import BotServices
from bot.visibility import shared_in

__all__ = ["SlackDelegate", "slack_delegation_tools"]


@dataclass(frozen=True)
class SlackDelegate:
    """baton.tools' `Delegate` for the person who wrote one Slack message, answering in Slack's words."""

    services: BotServices
    origin: SlackOrigin

    async def submit(self, agent: str, request: str, parameters: dict[str, Any]) -> str:
        command = RunCommand(agent.strip(), request.strip())
        return (await run(self.services, command, self.origin, parameters=parameters)).text

    async def status(self, task_id: str) -> str:
        command = StatusCommand(task_id or None)
        return (await execute(self.services, command, self.origin, posted_in=shared_in(self.origin.channel_id))).text

    async def cancel(self, task_id: str, reason: str) -> str:
        return (await cancel(self.services, task_id, reason, self.origin.user_id,
                             posted_in=shared_in(self.origin.channel_id))).text


def slack_delegation_tools(services: BotServices, origin: SlackOrigin) -> list[BaseTool]:
    return tools_for(SlackDelegate(services, origin))
